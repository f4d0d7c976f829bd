package expr

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/datadriven"
)

// mapVars serves variables from a map keyed by the name as written.
type mapVars map[string]string

func (m mapVars) Value(v *Var) ([]byte, bool) {
	s, ok := m[v.Raw]
	return []byte(s), ok
}

func TestExprDataDriven(t *testing.T) {
	datadriven.RunTest(t, "testdata/expr.txt", func(t *testing.T, c *datadriven.Case) string {
		rule := json.RawMessage(strings.Join(c.Input, "\n"))
		e, err := Compile(rule)
		switch c.Cmd {
		case "compile":
			if err != nil {
				return "error: " + err.Error()
			}
			return "ok"
		case "eval":
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			vars := mapVars{}
			// Arguments are name=value; a value may contain spaces, so
			// rejoin the command line's words.
			var cur string
			for _, a := range c.Args {
				if strings.Contains(a, "=") && (strings.HasPrefix(a, "arg_") || strings.HasPrefix(a, "http_") || strings.HasPrefix(a, "remote_")) {
					if cur != "" {
						k, v, _ := strings.Cut(cur, "=")
						vars[k] = v
					}
					cur = a
				} else {
					cur += " " + a
				}
			}
			if cur != "" {
				k, v, _ := strings.Cut(cur, "=")
				vars[k] = v
			}
			if e.Eval(vars) {
				return "true"
			}
			return "false"
		}
		t.Fatalf("unknown command %s", c.Cmd)
		return ""
	})
}

func TestParseVar(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind VarKind
		name string
	}{
		{"uri", VarURI, ""},
		{"arg_Name", VarArg, "name"},
		{"http_x_api_key", VarHTTP, "x_api_key"},
		{"post_arg_user", VarPostArg, "user"},
		{"uri_param_id", VarURIParam, "id"},
		{"cookie_session", VarCookie, "session"},
		{"arg_", VarUnknown, ""},
		{"upstream_addr", VarUpstreamAddr, ""},
		{"sent_http_Content_Type", VarSentHTTP, "content_type"},
		{"upstream_http_x_y", VarUpstreamHTTP, "x_y"},
		{"no_such_var", VarUnknown, ""},
	} {
		v := ParseVar(tc.in)
		if v.Kind != tc.kind || v.Name != tc.name {
			t.Errorf("%s: got %v %q", tc.in, v.Kind, v.Name)
		}
	}
	if !HeaderNameMatches([]byte("X-Api-Key"), "x_api_key") || HeaderNameMatches([]byte("X-Api-Keys"), "x_api_key") {
		t.Fatal("HeaderNameMatches")
	}
}
