package sync

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/trie"
)

func mustParse(t *testing.T, yaml string) *Objects {
	t.Helper()
	objs, err := ParseYAML([]byte(yaml + "\n#END\n"))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func match(s *Snapshot, path string) *Route {
	return s.Match(&trie.Query{Path: []byte(path), Method: 1 << 1, RemoteAddr: netip.MustParseAddr("127.0.0.1")})
}

func TestBuildResolvesReferencesAsAPISIX(t *testing.T) {
	b := &Builder{Loops: 1, Mode: trie.URI}
	snap, skipped := b.Build(1, mustParse(t, `
upstreams:
  - id: up1
    nodes: {"127.0.0.1:1980": 1, "127.0.0.1:1981": 2}
    timeout: {connect: 1, send: 2, read: 3}
routes:
  - id: by-id
    uri: /a
    upstream_id: up1
  - id: missing-upstream
    uri: /b
    upstream_id: nope
  - id: no-upstream
    uri: /c
    plugins: {}
  - id: disabled
    uri: /d
    status: 0
    upstream_id: up1
  - id: own-timeout
    uri: /e
    upstream_id: up1
    timeout: {connect: 5, send: 5, read: 5}
  - id: lua
    uri: /f
    filter_func: "function(vars) return true end"
    upstream_id: up1
`))
	if len(skipped) != 1 || !errors.Is(skipped[0], ErrFilterFuncUnsupported) {
		t.Fatalf("skipped %v, want the filter_func route", skipped)
	}
	r := match(snap, "/a")
	if r == nil || r.Upstream == nil || len(r.Upstream.Nodes) != 2 || r.Upstream.Retries != 1 || r.Timeout.Read.Seconds() != 3 {
		t.Fatalf("route by upstream_id: %+v", r)
	}
	if r := match(snap, "/b"); r == nil || r.Status != http.StatusBadGateway {
		t.Fatalf("unknown upstream_id: %+v, want status 502", r)
	}
	if r := match(snap, "/c"); r == nil || r.Status != http.StatusServiceUnavailable {
		t.Fatalf("no upstream: %+v, want status 503", r)
	}
	if r := match(snap, "/d"); r != nil {
		t.Fatal("status 0 route must not be routable")
	}
	if r := match(snap, "/e"); r == nil || r.Timeout.Connect.Seconds() != 5 {
		t.Fatalf("route timeout must win over the upstream's: %+v", r)
	}
	if r := match(snap, "/f"); r != nil {
		t.Fatal("a route needing Lua must be left out")
	}
}

func TestNodeIDsAreStableAcrossBuilds(t *testing.T) {
	b := &Builder{Loops: 1}
	yaml := "routes:\n  - uri: /a\n    upstream:\n      nodes: {\"10.0.0.1:80\": 1, \"10.0.0.2:80\": 1}\n"
	s1, _ := b.Build(1, mustParse(t, yaml))
	s2, _ := b.Build(2, mustParse(t, strings.Replace(yaml, "10.0.0.2", "10.0.0.3", 1)))
	n1, n2 := match(s1, "/a").Upstream.Nodes, match(s2, "/a").Upstream.Nodes
	if n1[0].ID != n2[0].ID {
		t.Fatal("the same address got a new id")
	}
	if n1[1].ID == n2[1].ID {
		t.Fatal("a new address reused an id")
	}
	if !n1[0].IP.IsValid() || string(n1[0].HostHeader) != "10.0.0.1" {
		t.Fatalf("node %+v", n1[0])
	}
}

func TestParseYAML(t *testing.T) {
	t.Setenv("SLUICE_TEST_NODE", "127.0.0.1:1980")
	for _, tc := range []struct{ name, in, err string }{
		{"no-end", "routes: []\n", "missing valid end flag"},
		{"end-with-spaces", "routes: []\n#END  \n", ""},
		{"bad-yaml", "routes: [\n#END\n", "invalid YAML"},
		{"unknown-key", "consumers: [{username: a}]\n#END\n", "consumers: not supported"},
		{"bad-route", "routes:\n  - uri: /a\n    methods: [FETCH]\n#END\n", "routes[0]"},
		{"env", "routes:\n  - uri: /a\n    upstream:\n      nodes: {\"${{SLUICE_TEST_NODE}}\": 1}\n#END\n", ""},
		{"env-default", "routes:\n  - uri: /a\n    upstream:\n      nodes: {\"${{SLUICE_UNSET_X:=127.0.0.1:1}}\": 1}\n#END\n", ""},
		{"env-missing", "routes:\n  - uri: ${{SLUICE_UNSET_Y}}\n#END\n", "can't find environment variable SLUICE_UNSET_Y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML([]byte(tc.in))
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
	objs := mustParse(t, "routes:\n  - uri: /a\n    plugins: {}\n  - uri: /b\n    plugins: {}\n")
	if objs.Routes[0].ID.S != "arr_0" || objs.Routes[1].ID.S != "arr_1" {
		t.Fatalf("default ids %q %q", objs.Routes[0].ID.S, objs.Routes[1].ID.S)
	}
}
