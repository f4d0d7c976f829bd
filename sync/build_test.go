package sync

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/trie"
)

func mustParse(t *testing.T, yaml string) []Change {
	t.Helper()
	changes, err := ParseYAML([]byte(yaml + "\n#END\n"))
	if err != nil {
		t.Fatal(err)
	}
	return changes
}

func match(s *Snapshot, path string) *Route {
	return matchHost(s, "", path)
}

// upOf is where the route matching path sends requests (nil: none).
func upOf(s *Snapshot, path string) *Upstream {
	r := match(s, path)
	if r == nil {
		return nil
	}
	return s.UpstreamOf(r)
}

func matchHost(s *Snapshot, host, path string) *Route {
	rev := []byte(host)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return s.Match(&trie.Query{Path: []byte(path), Host: []byte(host), HostRev: rev, Method: 1 << 1, RemoteAddr: netip.MustParseAddr("127.0.0.1")})
}

// put and del make etcd-style changes: rev is the mod revision.
func put(k *config.Kind, id string, rev int64, value string) Change {
	return Change{Kind: k, ID: id, Item: &Item{Key: "/apisix/" + k.Name + "/" + id, Value: []byte(value), CreateRev: rev, ModRev: rev}}
}

func del(k *config.Kind, id string) Change { return Change{Kind: k, ID: id} }

func hasProblem(problems []error, target error, text string) bool {
	for _, p := range problems {
		if (target == nil || errors.Is(p, target)) && strings.Contains(p.Error(), text) {
			return true
		}
	}
	return false
}

func TestApplyResolvesReferencesAsAPISIX(t *testing.T) {
	b := &Builder{Mode: trie.URI}
	snap, problems := b.Apply(1, mustParse(t, `
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
  - id: plugin
    uri: /g
    upstream_id: up1
    plugins: {key-auth: {}}
  - id: missing-service
    uri: /h
    service_id: nope
`), true)
	if !hasProblem(problems, ErrFilterFuncUnsupported, "routes/lua") {
		t.Errorf("problems %v lack the filter_func route", problems)
	}
	if !hasProblem(problems, config.ErrUnknownPlugin, "unknown plugin [key-auth]") {
		t.Errorf("problems %v lack the unavailable plugin", problems)
	}
	r, u := match(snap, "/a"), upOf(snap, "/a")
	if r == nil || u == nil || len(u.Nodes) != 2 || u.Retries != 1 || u.Timeout.Read.Seconds() != 3 || r.OwnTimeout {
		t.Fatalf("route by upstream_id: %+v, upstream %+v", r, u)
	}
	for path, status := range map[string]int{
		"/b": http.StatusBadGateway,         // unknown upstream_id
		"/c": http.StatusServiceUnavailable, // no upstream at all
		"/g": http.StatusServiceUnavailable, // a plugin sluice does not run: fail closed
		"/h": http.StatusNotFound,           // unknown service_id
	} {
		if r := match(snap, path); r == nil || r.Status != status {
			t.Errorf("%s: %+v, want status %d", path, r, status)
		}
	}
	if r := match(snap, "/d"); r != nil {
		t.Error("status 0 route must not be routable")
	}
	if r := match(snap, "/e"); r == nil || r.Timeout.Connect.Seconds() != 5 {
		t.Errorf("route timeout must win over the upstream's: %+v", r)
	}
	if r := match(snap, "/f"); r != nil {
		t.Error("a route needing Lua must be left out")
	}
	if got := len(snap.Items(config.Routes)); got != 8 {
		t.Errorf("the control view lists %d routes, want all 8 stored", got)
	}
}

func TestServicesAndReferencesFollowChanges(t *testing.T) {
	b := &Builder{Mode: trie.HostURI}
	b.Apply(1, []Change{
		put(config.Upstreams, "u1", 1, `{"nodes": {"10.0.0.1:80": 1}}`),
		put(config.Upstreams, "u2", 2, `{"nodes": {"10.0.0.2:80": 1}}`),
		put(config.Services, "s1", 3, `{"upstream_id": "u1", "hosts": ["Svc.example.com"]}`),
		put(config.Routes, "r1", 4, `{"uri": "/a", "service_id": "s1"}`),
		put(config.Routes, "r2", 5, `{"uri": "/b", "upstream_id": "u2"}`),
	}, true)
	snap := func(ver int64, cs ...Change) *Snapshot {
		t.Helper()
		s, problems := b.Apply(ver, cs, false)
		if len(problems) > 0 {
			t.Logf("problems: %v", problems)
		}
		return s
	}
	s := snap(2)
	if r := matchHost(s, "svc.example.com", "/a"); r == nil || s.UpstreamOf(r).Nodes[0].Addr != "10.0.0.1:80" {
		t.Fatalf("route through its service: %+v", r)
	}
	if r := matchHost(s, "other.example.com", "/a"); r != nil {
		t.Fatal("a route without hosts must take its service's hosts")
	}
	// The service's upstream changes: the route follows.
	s = snap(3, put(config.Upstreams, "u1", 10, `{"nodes": {"10.0.0.9:80": 1}}`))
	if r := matchHost(s, "svc.example.com", "/a"); r == nil || s.UpstreamOf(r).Nodes[0].Addr != "10.0.0.9:80" {
		t.Fatalf("after the upstream changed: %+v", r)
	}
	// The service moves to another upstream and host.
	s = snap(4, put(config.Services, "s1", 11, `{"upstream_id": "u2", "hosts": ["new.example.com"]}`))
	if r := matchHost(s, "new.example.com", "/a"); r == nil || s.UpstreamOf(r).Nodes[0].Addr != "10.0.0.2:80" {
		t.Fatalf("after the service changed: %+v", r)
	}
	if r := matchHost(s, "svc.example.com", "/a"); r != nil {
		t.Fatal("the old service host still routes")
	}
	// u1 is no longer used by anything; changing it must not touch r1.
	before := matchHost(s, "new.example.com", "/a")
	s = snap(5, put(config.Upstreams, "u1", 12, `{"nodes": {"10.0.0.8:80": 1}}`))
	if matchHost(s, "new.example.com", "/a") != before {
		t.Fatal("a change to an unrelated upstream recompiled the route")
	}
	// Deleting the upstream a route names makes it answer 502.
	s = snap(6, del(config.Upstreams, "u2"))
	if r := match(s, "/b"); r == nil || r.Status != http.StatusBadGateway {
		t.Fatalf("after its upstream was deleted: %+v", r)
	}
	// A global rule with a plugin sluice cannot run closes everything.
	s = snap(7, put(config.GlobalRules, "g1", 13, `{"id": "g1", "plugins": {"ip-restriction": {}}}`))
	if r := match(s, "/nothing-here"); r == nil || r.Status != http.StatusServiceUnavailable {
		t.Fatalf("with an unhonoured global rule: %+v", r)
	}
	s = snap(8, del(config.GlobalRules, "g1"))
	if r := match(s, "/nothing-here"); r != nil {
		t.Fatalf("after the global rule went: %+v", r)
	}
}

func TestInvalidItemKeepsLastGoodVersion(t *testing.T) {
	b := &Builder{Mode: trie.URI}
	b.Apply(1, []Change{put(config.Routes, "r1", 1, `{"uri": "/a", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`)}, true)
	s, problems := b.Apply(2, []Change{put(config.Routes, "r1", 2, `{"uri": "/b", "methods": ["FETCH"], "upstream_id": 1}`)}, false)
	if !hasProblem(problems, nil, "keeping the last valid version") {
		t.Fatalf("problems: %v", problems)
	}
	if match(s, "/a") == nil || match(s, "/b") != nil {
		t.Fatal("an invalid write replaced the last good route")
	}
	// Non-object values and garbage are skipped the same way.
	s, problems = b.Apply(3, []Change{put(config.Routes, "r1", 3, `"init_dir"`)}, false)
	if len(problems) != 1 || match(s, "/a") == nil {
		t.Fatalf("a non-object value: problems %v", problems)
	}
}

func TestFullReloadDeletesAndKeepsUnchanged(t *testing.T) {
	b := &Builder{Mode: trie.URI}
	s1, _ := b.Apply(1, []Change{
		put(config.Routes, "keep", 1, `{"uri": "/keep", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`),
		put(config.Routes, "gone", 2, `{"uri": "/gone", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`),
	}, true)
	s2, _ := b.Apply(5, []Change{
		put(config.Routes, "keep", 1, `{"uri": "/keep", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`),
	}, true)
	if match(s2, "/gone") != nil {
		t.Fatal("a route missing from the re-list survived")
	}
	if match(s2, "/keep") != match(s1, "/keep") {
		t.Fatal("an unchanged route (same mod revision) was rebuilt")
	}
	if s2.Version != 5 {
		t.Fatalf("version %d", s2.Version)
	}
}

func TestNodeRefsAreStableAndReclaimed(t *testing.T) {
	b := &Builder{}
	yaml := "routes:\n  - uri: /a\n    upstream:\n      nodes: {\"10.0.0.1:80\": 1, \"10.0.0.2:80\": 1}\n"
	s1, _ := b.Apply(1, mustParse(t, yaml), true)
	s2, _ := b.Apply(2, mustParse(t, strings.Replace(yaml, "10.0.0.2", "10.0.0.3", 1)), true)
	n1, n2 := upOf(s1, "/a").Nodes, upOf(s2, "/a").Nodes
	if n1[0].Ref != n2[0].Ref {
		t.Fatal("the same address got a new ref")
	}
	if n1[1].Ref == n2[1].Ref {
		t.Fatal("a new address took a live address's ref")
	}
	if !n1[0].IP.IsValid() || string(n1[0].HostHeader) != "10.0.0.1" {
		t.Fatalf("node %+v", n1[0])
	}
	// 10.0.0.2 is gone: its ref was logged as retired, and its slot is
	// reused under a newer generation, so loops can tell the owners apart.
	retired, next := s2.RetiredNodes(0, nil)
	if len(retired) != 1 || retired[0] != n1[1].Ref || next != 1 {
		t.Fatalf("retired %v next %d, want [%v] 1", retired, next, n1[1].Ref)
	}
	if again, _ := s2.RetiredNodes(next, nil); len(again) != 0 {
		t.Fatalf("retirements repeated: %v", again)
	}
	// The next new address takes the freed slot, one generation on.
	s3, _ := b.Apply(3, mustParse(t, strings.Replace(yaml, "10.0.0.2", "10.0.0.4", 1)), true)
	n3 := upOf(s3, "/a").Nodes
	if n3[1].Ref.Slot != n1[1].Ref.Slot || !n3[1].Ref.Newer(n1[1].Ref) {
		t.Fatalf("slot not reused with a newer generation: %v then %v", n1[1].Ref, n3[1].Ref)
	}
	if b.nodes.slots.live() != 2 || b.upRefs.live() != 1 {
		t.Fatalf("live node slots %d, upstream slots %d; want 2 and 1", b.nodes.slots.live(), b.upRefs.live())
	}
}

// Node and upstream slots churned through many versions stay as few as the
// live configuration needs.
func TestSlotsFollowTheLiveConfiguration(t *testing.T) {
	b := &Builder{}
	for i := range 5000 {
		yaml := fmt.Sprintf("upstreams:\n  - id: u\n    nodes: {\"10.%d.%d.1:80\": 1, \"10.9.9.9:80\": 1}\n"+
			"routes:\n  - uri: /a\n    upstream_id: u\n  - uri: /b\n    upstream:\n      nodes: {\"10.%d.%d.2:80\": 1}\n",
			i/256, i%256, i/256, i%256)
		b.Apply(int64(i), mustParse(t, yaml), true)
	}
	if n, u := b.nodes.slots.live(), b.upRefs.live(); n != 3 || u != 2 {
		t.Fatalf("live slots: %d node, %d upstream; want 3 and 2", n, u)
	}
	if len(b.nodes.slots.gens) > 6 || len(b.upRefs.gens) > 4 {
		t.Fatalf("slot tables grew to %d and %d entries", len(b.nodes.slots.gens), len(b.upRefs.gens))
	}
}

// TestIncrementalMatchesRebuild applies random changes one batch at a time
// and checks every snapshot routes exactly as a builder given the same
// final configuration in one go.
func TestIncrementalMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inc := &Builder{Mode: trie.HostURI}
	live := map[string]Change{} // key: kind/id
	rev := int64(0)
	randomChange := func() Change {
		rev++
		switch rng.IntN(4) {
		case 0:
			id := fmt.Sprintf("u%d", rng.IntN(4))
			if rng.IntN(4) == 0 {
				return del(config.Upstreams, id)
			}
			return put(config.Upstreams, id, rev, fmt.Sprintf(`{"nodes": {"10.0.%d.%d:80": 1}}`, rng.IntN(9), rng.IntN(9)))
		case 1:
			id := fmt.Sprintf("s%d", rng.IntN(3))
			if rng.IntN(4) == 0 {
				return del(config.Services, id)
			}
			return put(config.Services, id, rev, fmt.Sprintf(`{"upstream_id": "u%d", "hosts": ["h%d.com"]}`, rng.IntN(4), rng.IntN(3)))
		default:
			id := fmt.Sprintf("r%d", rng.IntN(40))
			if rng.IntN(5) == 0 {
				return del(config.Routes, id)
			}
			ref := fmt.Sprintf(`"upstream_id": "u%d"`, rng.IntN(4))
			switch rng.IntN(3) {
			case 0:
				ref = fmt.Sprintf(`"service_id": "s%d"`, rng.IntN(3))
			case 1:
				ref = fmt.Sprintf(`"upstream": {"nodes": {"10.1.%d.1:80": 1}}`, rng.IntN(5))
			}
			return put(config.Routes, id, rev, fmt.Sprintf(`{"uri": "/p%d*", "priority": %d, %s}`, rng.IntN(6), rng.IntN(3), ref))
		}
	}
	for step := range 200 {
		batch := make([]Change, 1+rng.IntN(3))
		for i := range batch {
			batch[i] = randomChange()
			key := batch[i].Kind.Name + "/" + batch[i].ID
			if batch[i].Item == nil {
				delete(live, key)
			} else {
				live[key] = batch[i]
			}
		}
		got, _ := inc.Apply(int64(step), batch, false)
		all := make([]Change, 0, len(live))
		for _, c := range live {
			all = append(all, c)
		}
		fresh := &Builder{Mode: trie.HostURI}
		want, _ := fresh.Apply(int64(step), all, true)
		// Reference counts: exactly the addresses the configuration lists
		// hold a node slot, however the changes got there.
		if g, w := liveAddrs(inc), liveAddrs(fresh); g != w {
			t.Fatalf("step %d: incremental holds nodes %s, rebuild %s", step, g, w)
		}
		if inc.upRefs.live() != fresh.upRefs.live() {
			t.Fatalf("step %d: incremental holds %d upstream slots, rebuild %d", step, inc.upRefs.live(), fresh.upRefs.live())
		}
		for _, host := range []string{"h0.com", "h1.com", "h2.com", "x.com"} {
			for p := range 6 {
				path := fmt.Sprintf("/p%d/x", p)
				g, w := matchHost(got, host, path), matchHost(want, host, path)
				if describe(got, g) != describe(want, w) {
					t.Fatalf("step %d %s%s: incremental %s, rebuild %s", step, host, path, describe(got, g), describe(want, w))
				}
			}
		}
	}
}

func describe(s *Snapshot, r *Route) string {
	if r == nil {
		return "404"
	}
	u := s.UpstreamOf(r)
	if u == nil {
		return fmt.Sprintf("%s:%d", r.ID, r.Status)
	}
	return r.ID + "->" + u.Nodes[0].Addr
}

func TestParseYAML(t *testing.T) {
	t.Setenv("SLUICE_TEST_NODE", "127.0.0.1:1980")
	for _, tc := range []struct{ name, in, err string }{
		{"no-end", "routes: []\n", "missing valid end flag"},
		{"end-with-spaces", "routes: []\n#END  \n", ""},
		{"bad-yaml", "routes: [\n#END\n", "invalid YAML"},
		{"unknown-key", "stream_routes: [{server_port: 9100}]\n#END\n", "stream_routes: not supported"},
		{"bad-route", "routes:\n  - uri: /a\n    methods: [FETCH]\n#END\n", `routes[0]: invalid configuration: property "methods"`},
		{"duplicate", "routes:\n  - {id: 1, uri: /a, plugins: {}}\n  - {id: 1, uri: /b, plugins: {}}\n#END\n", `duplicate id "1"`},
		{"env", "routes:\n  - uri: /a\n    upstream:\n      nodes: {\"${{SLUICE_TEST_NODE}}\": 1}\n#END\n", ""},
		{"env-default", "routes:\n  - uri: /a\n    upstream:\n      nodes: {\"${{SLUICE_UNSET_X:=127.0.0.1:1}}\": 1}\n#END\n", ""},
		{"env-missing", "routes:\n  - uri: ${{SLUICE_UNSET_Y}}\n#END\n", "can't find environment variable SLUICE_UNSET_Y"},
		{"every-kind", `
upstreams: [{id: u, nodes: {"a:1": 1}}]
services: [{id: s, upstream_id: u}]
plugin_configs: [{id: p, plugins: {}}]
consumer_groups: [{id: g, plugins: {}}]
consumers:
  - username: jack
  - id: jack/credentials/c1
    plugins: {}
global_rules: [{id: r, plugins: {}}]
plugin_metadata: [{id: some-plugin, k: v}]
plugins: [{name: key-auth}]
#END
`, ""},
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
	changes := mustParse(t, "routes:\n  - uri: /a\n    plugins: {}\n  - uri: /b\n    plugins: {}\nconsumers:\n  - username: jack\n  - id: jack/credentials/c1\n    plugins: {}\n")
	var ids []string
	for _, c := range changes {
		ids = append(ids, c.Kind.Name+":"+c.ID)
	}
	if got := strings.Join(ids, " "); got != "consumers:jack credentials:jack/c1 routes:arr_0 routes:arr_1" {
		t.Fatalf("ids: %s", got)
	}
}

// A consumer credential an APISIX control plane wrote, its key-auth key
// encrypted with the default keyring, is read in plain text.
func TestApplyDecryptsAPISIXSecrets(t *testing.T) {
	kr, err := config.NewKeyring(config.DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	b := &Builder{Mode: trie.URI, Pipeline: &config.Pipeline{Keyring: kr}}
	_, problems := b.Apply(1, []Change{
		put(config.Consumers, "jack", 1, `{"username": "jack"}`),
		put(config.Credentials, "jack/c1", 2, `{"plugins": {"key-auth": {"key": "s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH"}}}`),
	}, true)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cred := b.st.objs[config.Credentials]["jack/c1"].obj.(*config.Credential)
	if cred.Consumer != "jack" || !strings.Contains(string(cred.Plugins["key-auth"]), `"edd1c9f034335f136f87ad84b625c8f1"`) {
		t.Fatalf("credential %+v: %s", cred, cred.Plugins["key-auth"])
	}
}

// liveAddrs lists the node addresses b holds slots for.
func liveAddrs(b *Builder) string {
	addrs := make([]string, 0, len(b.nodes.byAddr))
	for a := range b.nodes.byAddr {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	return strings.Join(addrs, " ")
}

// Routes with identical inline upstreams share one compiled upstream (one
// picker, one Ref, one per-loop state); each route holds a share, and the
// last one to let go releases it. Upstreams with health checks stay the
// route's own, as APISIX runs a checker per route for them.
func TestInlineUpstreamsInterned(t *testing.T) {
	const same = `"upstream": {"nodes": {"10.0.0.1:80": 1, "10.0.0.2:80": 1}, "type": "roundrobin"}`
	const other = `"upstream": {"nodes": {"10.0.0.3:80": 1}}`
	const checked = `"upstream": {"nodes": {"10.0.0.1:80": 1, "10.0.0.2:80": 1}, "type": "roundrobin",
		"checks": {"active": {"http_path": "/"}}}`
	const named = `"upstream": {"nodes": {"origin.test:80": 1}}`
	b := &Builder{Mode: trie.URI}
	route := func(id, up string) Change {
		return put(config.Routes, id, 1, fmt.Sprintf(`{"uri": "/%s", %s}`, id, up))
	}
	s, problems := b.Apply(1, []Change{route("r1", same), route("r2", same), route("r3", same), route("r4", other), route("r5", checked),
		route("r6", named), route("r7", named)}, true)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	u := func(s *Snapshot, id string) *Upstream { return upOf(s, "/"+id) }
	if u(s, "r1") != u(s, "r2") || u(s, "r2") != u(s, "r3") {
		t.Fatal("identical inline upstreams were compiled apart")
	}
	if u(s, "r4") == u(s, "r1") || u(s, "r5") == u(s, "r1") {
		t.Fatal("different (or health-checked) upstreams were shared")
	}
	if u(s, "r6") == u(s, "r7") {
		t.Fatal("upstreams with host names (resolved per route) were shared")
	}
	s, _ = b.Apply(2, []Change{del(config.Routes, "r6"), del(config.Routes, "r7")}, false)
	_, seq := s.RetiredNodes(0, nil)
	if n := b.upRefs.live(); n != 3 {
		t.Fatalf("%d upstream slots live, want 3", n)
	}
	shared := u(s, "r1")

	// r1 moves to r4's upstream: it shares that one now; r2 and r3 keep theirs.
	s, _ = b.Apply(3, []Change{route("r1", other)}, false)
	if u(s, "r1") != u(s, "r4") || u(s, "r2") != shared {
		t.Fatal("a route's new upstream was not shared, or the old share was dropped")
	}
	// A route recompiled with an unchanged upstream keeps the same one,
	// so the loops' balancer state for it carries on.
	s, _ = b.Apply(4, []Change{route("r2", same)}, false)
	if u(s, "r2") != shared {
		t.Fatal("recompiling a route replaced its unchanged upstream")
	}
	// The last routes holding it go: its Ref and node 10.0.0.2 are released.
	s, _ = b.Apply(5, []Change{del(config.Routes, "r2"), del(config.Routes, "r3")}, false)
	if n := b.upRefs.live(); n != 2 {
		t.Fatalf("%d upstream slots live after the last share went, want 2", n)
	}
	if _, ok := b.interns.byKey[shared.interned]; ok {
		t.Fatal("the released upstream is still interned")
	}
	if got := liveAddrs(b); got != "10.0.0.1:80 10.0.0.2:80 10.0.0.3:80" {
		// 10.0.0.1 and .2 are still listed by r5's checked upstream.
		t.Fatalf("live nodes %s", got)
	}
	s, _ = b.Apply(6, []Change{del(config.Routes, "r5")}, false)
	if got := liveAddrs(b); got != "10.0.0.3:80" {
		t.Fatalf("live nodes %s after the last users went", got)
	}
	if retired, _ := s.RetiredNodes(seq, nil); len(retired) != 2 {
		t.Fatalf("retired %v, want the two nodes no route lists", retired)
	}
}

// A JSON apisix.yaml (generated configs usually are) is read as JSON, and
// decodes to what the same objects written as YAML do; objects are decoded
// in parallel and the first bad one in file order is the one reported.
func TestParseYAMLAsJSON(t *testing.T) {
	t.Setenv("SLUICE_TEST_NODE", "127.0.0.1:1980")
	var js, yml strings.Builder
	js.WriteString(`{"upstreams": [{"id": "u", "nodes": {"${{SLUICE_TEST_NODE}}": 1}}], "routes": [`)
	yml.WriteString("upstreams:\n  - id: u\n    nodes: {\"${{SLUICE_TEST_NODE}}\": 1}\nroutes:\n")
	for i := range 2000 {
		if i > 0 {
			js.WriteString(",\n")
		}
		fmt.Fprintf(&js, `{"id": "r%d", "uri": "/p/%d", "methods": ["GET"], "upstream_id": "u", "priority": %d}`, i, i, i%3)
		fmt.Fprintf(&yml, "  - {id: r%d, uri: /p/%d, methods: [GET], upstream_id: u, priority: %d}\n", i, i, i%3)
	}
	js.WriteString("]}\n")
	fromJSON := mustParse(t, js.String())
	fromYAML := mustParse(t, yml.String())
	if len(fromJSON) != len(fromYAML) {
		t.Fatalf("%d changes from JSON, %d from YAML", len(fromJSON), len(fromYAML))
	}
	for i := range fromJSON {
		a, b := fromJSON[i], fromYAML[i]
		if a.Kind != b.Kind || a.ID != b.ID || a.Item.CreateRev != b.Item.CreateRev || !reflect.DeepEqual(a.Obj, b.Obj) {
			t.Fatalf("change %d: JSON gave %s %s %+v, YAML %s %s %+v", i, a.Kind.Name, a.ID, a.Obj, b.Kind.Name, b.ID, b.Obj)
		}
	}
	bad := strings.Replace(strings.Replace(js.String(), `"uri": "/p/700"`, `"uri": ""`, 1), `"uri": "/p/1500"`, `"uri": ""`, 1)
	if _, err := ParseYAML([]byte(bad + "#END\n")); err == nil || !strings.HasPrefix(err.Error(), "routes[700]: ") {
		t.Fatalf("error %v, want the first bad route's (routes[700])", err)
	}
}

// Routes naming an upstream by id (directly or through their service) read
// it from the snapshot's upstream table: a change to its nodes compiles no
// route again, a published snapshot keeps the version it was built with,
// and deleting or creating the upstream recompiles the routes (502 and
// back). A slot freed by a deletion serves another upstream afterwards
// without older snapshots noticing.
func TestRoutesFollowUpstreamsByID(t *testing.T) {
	b := &Builder{Mode: trie.URI}
	s1, problems := b.Apply(1, []Change{
		put(config.Upstreams, "u1", 1, `{"nodes": {"10.0.0.1:80": 1}}`),
		put(config.Services, "s1", 2, `{"upstream_id": "u1"}`),
		put(config.Routes, "direct", 3, `{"uri": "/direct", "upstream_id": "u1"}`),
		put(config.Routes, "svc", 4, `{"uri": "/svc", "service_id": "s1"}`),
	}, true)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	s2, _ := b.Apply(5, []Change{put(config.Upstreams, "u1", 5, `{"nodes": {"10.0.0.2:80": 1}}`)}, false)
	for _, p := range []string{"/direct", "/svc"} {
		if match(s2, p) != match(s1, p) {
			t.Errorf("%s: compiled again for a change of its upstream's nodes", p)
		}
		if got := upOf(s2, p).Nodes[0].Addr; got != "10.0.0.2:80" {
			t.Errorf("%s: new snapshot sends to %s", p, got)
		}
		if got := upOf(s1, p).Nodes[0].Addr; got != "10.0.0.1:80" {
			t.Errorf("%s: the published snapshot changed under its readers: %s", p, got)
		}
	}
	s3, _ := b.Apply(6, []Change{del(config.Upstreams, "u1")}, false)
	for _, p := range []string{"/direct", "/svc"} {
		if r := match(s3, p); r == nil || r.Status != http.StatusBadGateway || s3.UpstreamOf(r) != nil {
			t.Fatalf("%s after its upstream was deleted: %s", p, describe(s3, r))
		}
	}
	// u9 takes the freed slot; s2's routes still find u1's last version.
	s4, _ := b.Apply(7, []Change{
		put(config.Upstreams, "u9", 7, `{"nodes": {"10.0.0.9:80": 1}}`),
		put(config.Routes, "nine", 8, `{"uri": "/nine", "upstream_id": "u9"}`),
	}, false)
	if got := upOf(s4, "/nine").Nodes[0].Addr; got != "10.0.0.9:80" {
		t.Fatalf("/nine sends to %s", got)
	}
	if got := upOf(s2, "/direct").Nodes[0].Addr; got != "10.0.0.2:80" {
		t.Fatalf("an older snapshot sees a reused slot: %s", got)
	}
	s5, _ := b.Apply(9, []Change{put(config.Upstreams, "u1", 9, `{"nodes": {"10.0.0.3:80": 1}}`)}, false)
	for _, p := range []string{"/direct", "/svc"} {
		if got := describe(s5, match(s5, p)); !strings.HasSuffix(got, "->10.0.0.3:80") {
			t.Fatalf("%s once its upstream is back: %s", p, got)
		}
	}
}
