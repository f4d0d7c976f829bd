package trafficsplit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// fakeUpstreams is plugin.Upstreams over a fixed set of ids; an inline
// upstream compiles to its JSON (what the builder was asked to compile).
type fakeUpstreams struct{ ids map[string]string }

func (f fakeUpstreams) Compile(conf []byte) (any, error) {
	if strings.Contains(string(conf), `"scheme":"https"`) {
		return nil, fmt.Errorf("upstream scheme https is not supported by sluice yet (only http)")
	}
	return "inline " + string(conf), nil
}

func (f fakeUpstreams) Find(id string) (any, error) {
	if up, ok := f.ids[id]; ok {
		return up, nil
	}
	return nil, fmt.Errorf("failed to find upstream by id: %s", id)
}

var ups = fakeUpstreams{ids: map[string]string{"1": "upstream 1", "2": "upstream 2", "3": "upstream 3"}}

// compile checks conf as the Admin API does and compiles it for route 1.
func compile(t testing.TB, conf string) *plugin.Chain {
	t.Helper()
	if _, err := plugintest.Checked("traffic-split", conf); err != nil {
		t.Fatalf("%s: %v", conf, err)
	}
	// Not plugintest.Chain: the conf's upstreams need the builder (ups).
	r := plugintest.Registry(t, "traffic-split")
	ch, err := r.Compile(&plugin.Env{Owner: "/apisix/routes/1", Upstreams: ups}, map[string]json.RawMessage{"traffic-split": json.RawMessage(conf)})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// send runs one request; it returns where it goes ("route" for the
// route's own upstream) or "<status> <body>" when answered.
func send(t *testing.T, ch *plugin.Chain, loop *reqctx.Loop, head string) string {
	t.Helper()
	c := plugintest.NewCtxOn(t, loop, head)
	if plugintest.Request(ch, c) == reqctx.Stop {
		_, body, has, _ := c.Exited()
		if !has {
			body = []byte("<nginx page>")
		}
		return fmt.Sprintf("%d %s", c.Status, body)
	}
	if c.UpstreamOverride == nil {
		return "route"
	}
	return c.UpstreamOverride.(string)
}

// tally sends n requests on one loop and counts the destinations.
func tally(t *testing.T, ch *plugin.Chain, n int, head string) string {
	t.Helper()
	loop := &reqctx.Loop{}
	var got []string
	for range n {
		got = append(got, send(t, ch, loop, head))
	}
	slices.Sort(got)
	return strings.Join(got, ", ")
}

func TestSchema(t *testing.T) {
	// traffic-split.t TEST 1-2.
	compile(t, `{"rules": [{"match": [{"vars": [["arg_name", "==", "jack"], ["arg_age", "!", "<", "16"]]}, {"vars": [["arg_name", "==", "rose"], ["arg_age", "!", ">", "32"]]}],
		"weighted_upstreams": [
			{"upstream": {"name": "upstream_A", "type": "roundrobin", "nodes": {"127.0.0.1:1981": 2}, "timeout": {"connect": 15, "send": 15, "read": 15}}, "weight": 2},
			{"upstream": {"name": "upstream_B", "type": "roundrobin", "nodes": {"127.0.0.1:1982": 2}, "timeout": {"connect": 15, "send": 15, "read": 15}}, "weight": 2},
			{"weight": 1}]}]}`)
	compile(t, `{"rules": [{"weighted_upstreams": [{"upstream": {"name": "upstream_A", "type": "roundrobin", "nodes": {"127.0.0.1:1981": 2}}, "weight": 2}, {"weight": 1}]}]}`)
	for _, tc := range []struct{ conf, want string }{
		// TEST 3.
		{`{"rules": [{"match": [{"vars": [["arg_name", 123, "jack"]]}], "weighted_upstreams": [{"weight": 1}]}]}`, `failed to validate the 'vars' expression: invalid operator '123'`},
		{`{"rules": [{"weighted_upstreams": [{"weight": -1}]}]}`, `property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: failed to validate item 1: property "weight" validation failed: expected -1 to be at least 0`},
		{`{"rules": [{"weighted_upstreams": []}]}`, `property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: expect array to have at least 1 items`},
		{`{"rules": [{"weighted_upstreams": [{"upstream": {"type": "roundrobin"}}]}]}`, `property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: failed to validate item 1: property "upstream" validation failed: value should match only one schema, but matches none`},
		{`{"rules": [{"weighted_upstreams": [{"upstream_id": ""}]}]}`, `property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: failed to validate item 1: property "upstream_id" validation failed: object matches none of the required`},
	} {
		if err := plugintest.Check("traffic-split", tc.conf); err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.conf, err, tc.want)
		}
	}
}

func TestDefaultsFilled(t *testing.T) {
	got, err := plugintest.Checked("traffic-split", `{"rules": [{"weighted_upstreams": [{}, {"upstream": {"nodes": {"127.0.0.1:1980": 1}}}]}, {"match": []}]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"rules":[{"weighted_upstreams":[{"weight":1},{"upstream":{"hash_on":"vars","nodes":{"127.0.0.1:1980":1},"pass_host":"pass","scheme":"http","type":"roundrobin"},"weight":1}]},{"match":[],"weighted_upstreams":[{"weight":1}]}]}`
	if string(got) != want {
		t.Errorf("stored conf\n %s\nwant\n %s", got, want)
	}
}

func TestRules(t *testing.T) {
	get := func(q string) string { return "GET /server_port" + q + " HTTP/1.1\r\nHost: x\r\n" }
	inlineA := `{"upstream": {"name": "upstream_A", "type": "roundrobin", "nodes": {"127.0.0.1:1981": 2}}, "weight": 2}`
	const a = `inline {"hash_on":"vars","name":"upstream_A","nodes":{"127.0.0.1:1981":2},"pass_host":"pass","scheme":"http","type":"roundrobin"}`
	for _, tc := range []struct {
		name, conf, head string
		n                int
		want             string
	}{
		// traffic-split.t TEST 4-7: no rules, or only the route's.
		{"no rules", `{}`, get(""), 6, "route, route, route, route, route, route"},
		{"empty entry", `{"rules": [{"weighted_upstreams": [{}]}]}`, get(""), 3, "route, route, route"},
		// TEST 8-10: one inline upstream at 2/3, the route's at 1/3.
		{"match fails", `{"rules": [{"match": [{"vars": [["arg_name", "==", "jack"], ["arg_age", "!", "<", "16"]]}], "weighted_upstreams": [` + inlineA + `, {"weight": 1}]}]}`,
			get("?name=jack&age=14"), 1, "route"},
		{"match passes", `{"rules": [{"match": [{"vars": [["arg_name", "==", "jack"], ["arg_age", "!", "<", "16"]]}], "weighted_upstreams": [` + inlineA + `, {"weight": 1}]}]}`,
			get("?name=jack&age=16"), 6, a + ", " + a + ", " + a + ", " + a + ", route, route"},
		// The second match entry passes.
		{"any match entry", `{"rules": [{"match": [{"vars": [["arg_name", "==", "jack"]]}, {"vars": [["arg_name", "==", "rose"]]}], "weighted_upstreams": [{"upstream_id": 1}]}]}`,
			get("?name=rose"), 2, "upstream 1, upstream 1"},
		// Ids, weights 3:2:1 (gcd 1) over two full cycles.
		{"weights", `{"rules": [{"weighted_upstreams": [{"upstream_id": "1", "weight": 3}, {"upstream_id": "2", "weight": 2}, {"weight": 1}]}]}`,
			get(""), 12, "route, route, upstream 1, upstream 1, upstream 1, upstream 1, upstream 1, upstream 1, upstream 2, upstream 2, upstream 2, upstream 2"},
		// Weight 0 is never picked.
		{"zero weight", `{"rules": [{"weighted_upstreams": [{"upstream_id": "1", "weight": 0}, {"upstream_id": "2", "weight": 5}]}]}`,
			get(""), 4, "upstream 2, upstream 2, upstream 2, upstream 2"},
		{"all zero", `{"rules": [{"weighted_upstreams": [{"upstream_id": "1", "weight": 0}, {"upstream_id": "2", "weight": 0}]}]}`,
			get(""), 4, "upstream 1, upstream 1, upstream 2, upstream 2"},
		// One server_list key per upstream_id: the last weight wins.
		{"same id twice", `{"rules": [{"weighted_upstreams": [{"upstream_id": "1", "weight": 5}, {"weight": 1}, {"upstream_id": "1", "weight": 1}]}]}`,
			get(""), 4, "route, route, upstream 1, upstream 1"},
		// traffic-split5.t TEST 5-6: the first rule's match fails, the
		// second (no match) is taken.
		{"second rule", `{"rules": [{"match": [{"vars": [["arg_id", "==", "1"]]}], "weighted_upstreams": [{"upstream_id": "1"}]}, {"weighted_upstreams": [{"upstream_id": "2"}]}]}`,
			get("?id=2"), 2, "upstream 2, upstream 2"},
		// An empty match list keeps the verdict before it (true at first).
		{"empty match first", `{"rules": [{"match": [], "weighted_upstreams": [{"upstream_id": "1"}]}]}`, get(""), 1, "upstream 1"},
		{"empty match after a miss", `{"rules": [{"match": [{"vars": [["arg_x", "==", "1"]]}], "weighted_upstreams": [{"upstream_id": "1"}]}, {"match": [], "weighted_upstreams": [{"upstream_id": "2"}]}]}`,
			get(""), 1, "route"},
		// traffic-split3.t TEST 17-20: headers with dashes.
		{"header vars", `{"rules": [{"match": [{"vars": [["http_x-api-appkey", "==", "api-key"], ["arg_x-api-version", "==", "v2"]]}], "weighted_upstreams": [{"upstream_id": "3"}]}]}`,
			"GET /server_port?x-api-version=v2 HTTP/1.1\r\nHost: x\r\nX-Api-Appkey: api-key\r\n", 1, "upstream 3"},
		// traffic-split2.t TEST 20: a missing upstream_id is a 500, once its
		// rule is reached.
		{"missing id", `{"rules": [{"weighted_upstreams": [{"upstream_id": "invalid-id", "weight": 1}]}]}`, get(""), 1,
			"500 failed to fetch upstream info by upstream id: invalid-id"},
		{"missing id in a later rule", `{"rules": [{"match": [{"vars": [["arg_a", "==", "1"]]}], "weighted_upstreams": [{"upstream_id": "1"}]}, {"weighted_upstreams": [{"upstream_id": "9"}]}]}`,
			get("?a=1"), 1, "upstream 1"},
		{"missing id reached", `{"rules": [{"match": [{"vars": [["arg_a", "==", "1"]]}], "weighted_upstreams": [{"upstream_id": "1"}]}, {"match": [{"vars": [["arg_a", "==", "2"]]}], "weighted_upstreams": [{"upstream_id": "9"}]}]}`,
			get("?a=3"), 1, "500 failed to fetch upstream info by upstream id: 9"},
		// An inline upstream sluice cannot run fails when picked.
		{"https inline", `{"rules": [{"weighted_upstreams": [{"upstream": {"scheme": "https", "nodes": {"127.0.0.1:1983": 1}}}]}]}`, get(""), 1,
			"500 upstream scheme https is not supported by sluice yet (only http)"},
		{"empty rules", `{"rules": []}`, get(""), 1, "500 <nginx page>"},
		// Only the plugin's subset of an inline upstream's fields is kept.
		{"inline subset", `{"rules": [{"weighted_upstreams": [{"upstream": {"nodes": [{"host": "127.0.0.1", "port": 1980, "weight": 1}], "retries": 3, "checks": {"active": {"http_path": "/status"}}, "desc": "d", "upstream_host": "example.com", "pass_host": "rewrite"}}]}]}`,
			get(""), 1, `inline {"hash_on":"vars","nodes":[{"host":"127.0.0.1","port":1980,"priority":0,"weight":1}],"pass_host":"rewrite","scheme":"http","type":"roundrobin","upstream_host":"example.com"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tally(t, compile(t, tc.conf), tc.n, tc.head); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestPositionSurvivesRecompile: a route recompiled with the same rule
// (its upstream changed) goes on with the loop's round robin.
func TestPositionSurvivesRecompile(t *testing.T) {
	conf := `{"rules": [{"weighted_upstreams": [{"upstream_id": "1"}, {"upstream_id": "2"}]}]}`
	loop := &reqctx.Loop{}
	head := "GET / HTTP/1.1\r\nHost: x\r\n"
	prev := send(t, compile(t, conf), loop, head)
	for i := range 12 {
		got := send(t, compile(t, conf), loop, head)
		if got == prev {
			t.Fatalf("request %d went to %s again: the position was reset", i+2, got)
		}
		prev = got
	}
	// Another route's identical rule has its own position.
	other := loop.Local(positionsKey).(*positions)
	if len(other.m) != 1 {
		t.Fatalf("%d positions", len(other.m))
	}
}

func TestNoUpstreamsOffered(t *testing.T) {
	r := plugintest.Registry(t, "traffic-split")
	ch, err := r.Compile(&plugin.Env{Owner: "/apisix/global_rules"}, map[string]json.RawMessage{
		"traffic-split": json.RawMessage(`{"rules": [{"weighted_upstreams": [{"upstream_id": "1"}]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := send(t, ch, &reqctx.Loop{}, "GET / HTTP/1.1\r\nHost: x\r\n"); got != "500 traffic-split: upstreams cannot be named here" {
		t.Fatal(got)
	}
}
