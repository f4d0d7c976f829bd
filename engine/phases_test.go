package engine

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/plugin"
	cfgsync "github.com/sluicegw/sluice/sync"
	"github.com/sluicegw/sluice/trie"
)

// recorder collects the phases hooks ran in, across loops.
type recorder struct {
	mu  sync.Mutex // guards got
	got []string
}

func (r *recorder) hook(name string, status int) plugin.Hook {
	return func(plugin.Context) int {
		r.mu.Lock()
		r.got = append(r.got, name)
		r.mu.Unlock()
		return status
	}
}

func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.got, " ")
	r.got = nil
	return s
}

// publishWithHooks republishes the gateway's config with recording chains on
// every phase: one global, one on route "all".
func publishWithHooks(g *gateway, yaml string, rec *recorder, rejectAt plugin.Phase) {
	objs, err := cfgsync.ParseYAML([]byte(yaml + "\n#END\n"))
	if err != nil {
		g.t.Fatal(err)
	}
	snap, _ := g.b.Apply(time.Now().UnixNano(), objs, true)
	globals, route := &plugin.Chain{}, &plugin.Chain{}
	for p := plugin.Phase(0); p < plugin.NumPhases; p++ {
		status := 0
		if p == rejectAt {
			status = http.StatusForbidden
		}
		globals.Add(p, rec.hook("global:"+p.String(), 0))
		route.Add(p, rec.hook("route:"+p.String(), status))
	}
	snap.GlobalRules = globals
	all := snap.Match(&trie.Query{Path: []byte("/"), RemoteAddr: netip.MustParseAddr("127.0.0.1")})
	all.Plugins = route
	g.store.Publish(snap) // an atomic store: the loops see the chains complete
}

func TestPhaseHooksRunInOrder(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	rec := &recorder{}
	yaml := routeTo(up.addr)
	g := startGateway(t, yaml, Options{})
	publishWithHooks(g, yaml, rec, plugin.NumPhases)

	c := g.dial()
	c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	want := "global:rewrite route:rewrite global:access route:access global:before_proxy route:before_proxy " +
		"global:header_filter route:header_filter global:body_filter route:body_filter global:log route:log"
	waitFor(t, "the log phase", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.got) == 12 })
	if got := rec.take(); got != want {
		t.Fatalf("phases ran as\n  %s\nwant\n  %s", got, want)
	}

	t.Run("access-rejects", func(t *testing.T) {
		publishWithHooks(g, yaml, rec, plugin.Access)
		c := g.dial()
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, _ := c.response("GET"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403 from the access hook", resp.StatusCode)
		}
		waitFor(t, "the log phase", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.got) >= 6 })
		if got := rec.take(); got != "global:rewrite route:rewrite global:access route:access global:log route:log" {
			t.Fatalf("phases ran as %s", got)
		}
	})
	t.Run("unmatched-runs-global-rules", func(t *testing.T) {
		publishWithHooks(g, yaml, rec, plugin.NumPhases)
		c := g.dial()
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n") // matches; then an unmatched one below
		c.response("GET")
		waitFor(t, "the log phase", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.got) == 12 })
		rec.take()
		g.store.Publish(withoutRoutes(g, rec))
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, _ := c.response("GET"); resp.StatusCode != 404 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		waitFor(t, "the log phase", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.got) == 3 })
		if got := rec.take(); got != "global:rewrite global:access global:log" {
			t.Fatalf("phases ran as %s", got)
		}
	})
}

// withoutRoutes builds an empty snapshot whose global rules record.
func withoutRoutes(g *gateway, rec *recorder) *cfgsync.Snapshot {
	snap, _ := g.b.Apply(time.Now().UnixNano(), nil, true)
	globals := &plugin.Chain{}
	for p := plugin.Phase(0); p < plugin.NumPhases; p++ {
		globals.Add(p, rec.hook("global:"+p.String(), 0))
	}
	snap.GlobalRules = globals
	return snap
}
