package trie

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/datadriven"
	"github.com/sluicegw/sluice/internal/httpmethod"
)

// routeSpec is the test file's route format.
type routeSpec struct {
	ID          string          `json:"id"`
	Paths       []string        `json:"paths"`
	Hosts       []string        `json:"hosts"`
	Methods     []string        `json:"methods"`
	RemoteAddrs []string        `json:"remote_addrs"`
	Vars        json.RawMessage `json:"vars"`
	Priority    int             `json:"priority"`
}

var methodBits = map[string]httpmethod.Set{
	"GET": httpmethod.Get.Bit(), "POST": httpmethod.Post.Bit(), "PUT": httpmethod.Put.Bit(),
	"DELETE": httpmethod.Delete.Bit(), "PATCH": httpmethod.Patch.Bit(), "HEAD": httpmethod.Head.Bit(),
}

func (s *routeSpec) route(t testing.TB, seq int) *Route[string] {
	r := &Route[string]{ID: s.ID, Paths: s.Paths, Hosts: s.Hosts, Priority: s.Priority, Seq: seq, Value: s.ID}
	for _, m := range s.Methods {
		r.Methods |= methodBits[m]
	}
	for _, a := range s.RemoteAddrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			t.Fatal(err)
		}
		r.RemoteAddrs = append(r.RemoteAddrs, p)
	}
	e, err := expr.Compile(s.Vars)
	if err != nil {
		t.Fatal(err)
	}
	r.Vars = e
	return r
}

// varMap serves variables by the name written in the rule.
type varMap map[string]string

func (m varMap) Value(v *expr.Var) ([]byte, bool) {
	s, ok := m[v.Raw]
	return []byte(s), ok
}

// testQuery builds a query from "key=value" arguments.
func testQuery(args []string) *Query {
	q := &Query{Method: methodBits["GET"], RemoteAddr: netip.MustParseAddr("127.0.0.1")}
	vars := varMap{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "path":
			q.Path = []byte(v)
		case "host":
			q.Host = []byte(v)
			q.HostRev = []byte(reverse(v))
			if q.HostHeader == nil {
				q.HostHeader = []byte(v)
			}
		case "header-host":
			q.HostHeader = []byte(v)
		case "method":
			q.Method = methodBits[v]
		case "remote":
			q.RemoteAddr = netip.MustParseAddr(v)
		default:
			vars[k] = v
		}
	}
	q.Vars = vars
	return q
}

func describe(q *Query, id string, ok bool) string {
	if !ok {
		return "none"
	}
	out := id
	for i := 0; i < q.Params.Len(); i++ {
		out += fmt.Sprintf(" %s=%s", q.Params.names[i], q.Params.vals[i])
	}
	return out
}

func TestRouterDataDriven(t *testing.T) {
	var r *Router[string]
	datadriven.RunTest(t, "testdata/router.txt", func(t *testing.T, c *datadriven.Case) string {
		switch c.Cmd {
		case "routes":
			mode, err := ParseMode("radixtree_" + c.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			var routes []*Route[string]
			for i, line := range c.Input {
				var s routeSpec
				if err := json.Unmarshal([]byte(line), &s); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				routes = append(routes, s.route(t, i))
			}
			r, err = New(mode, routes)
			if err != nil {
				return "error: " + err.Error()
			}
			return "ok"
		case "match":
			q := testQuery(c.Args)
			id, ok := r.Match(q)
			return describe(q, id, ok)
		}
		t.Fatalf("unknown command %s", c.Cmd)
		return ""
	})
}
