package limitcount

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

func TestStoreFixedWindowFromFirstRequest(t *testing.T) {
	var clk plugintest.Clock
	s := NewStore(0, clk.Now)
	key := []byte("k")
	type step struct {
		advance   time.Duration
		remaining int64
		reset     time.Duration
		ok        bool
	}
	for i, st := range []step{
		{0, 1, 60 * time.Second, true}, // opens the window: reset is the whole window
		{time.Second, 0, 59 * time.Second, true},
		{time.Second, 0, 58 * time.Second, false}, // over: rejected, counted
		{57 * time.Second, 0, time.Second, false},
		{time.Second, 1, 60 * time.Second, true}, // the window ended: a new one starts here
		{30 * time.Second, 0, 30 * time.Second, true},
	} {
		clk.Advance(st.advance)
		rem, reset, ok := s.Incoming(key, 2, 1, time.Minute)
		if rem != st.remaining || reset != st.reset || ok != st.ok {
			t.Fatalf("step %d: remaining %d reset %v ok %v, want %d %v %v", i, rem, reset, ok, st.remaining, st.reset, st.ok)
		}
	}
}

func TestStoreEvictsExpiredWindows(t *testing.T) {
	var clk plugintest.Clock
	s := NewStore(0, clk.Now)
	for i := range 20000 {
		s.Incoming(fmt.Appendf(nil, "old-%d", i), 10, 1, time.Second)
	}
	clk.Advance(2 * time.Second)
	for i := range 20000 {
		s.Incoming(fmt.Appendf(nil, "new-%d", i), 10, 1, time.Second)
	}
	// Every old window is over; inserting sweeps samples of them away.
	t.Logf("%d windows after the sweep", s.Len())
	if n := s.Len(); n > 22000 {
		t.Fatalf("store holds %d windows: expired ones are not evicted", n)
	}
}

func TestStoreIsBounded(t *testing.T) {
	var clk plugintest.Clock
	s := NewStore(64*16, clk.Now)
	for i := range 50000 {
		s.Incoming(fmt.Appendf(nil, "k-%d", i), 10, 1, time.Hour)
	}
	if n := s.Len(); n > 64*16 {
		t.Fatalf("store holds %d windows, bound is %d", n, 64*16)
	}
	// A key that stays is still counted.
	s.Incoming([]byte("kept"), 10, 1, time.Hour)
	if rem, _, _ := s.Incoming([]byte("kept"), 10, 1, time.Hour); rem != 8 {
		t.Fatalf("remaining %d", rem)
	}
}

func TestAppendReset(t *testing.T) {
	for d, want := range map[time.Duration]string{
		60 * time.Second:        "60",
		59*time.Second + 999e6:  "59.99",
		59*time.Second + 900e6:  "59.9",
		59*time.Second + 905e6:  "59.9",
		59*time.Second + 950e6:  "59.95",
		0:                       "0",
		-time.Second:            "0",
		10 * time.Millisecond:   "0.01",
		1*time.Second + 1000000: "1",
	} {
		if got := string(appendReset(nil, d)); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

// APISIX t/plugin/limit-count.t TEST 3-5 and limit-count2.t TEST 3-5:
// two requests pass with the quota in headers, the third is rejected.
func TestAccessLimitsAndTellsTheQuota(t *testing.T) {
	var clk plugintest.Clock
	store := NewStore(0, clk.Now)
	for _, tc := range []struct {
		name, conf   string
		status       int
		body         string
		lastRemaning string
	}{
		{"defaults: 503 error page", `{"count": 2, "time_window": 60}`, 503, "<error page>", "0"},
		{"rejected_code", `{"count": 2, "time_window": 60, "rejected_code": 429}`, 429, "<error page>", "0"},
		{"rejected_msg", `{"count": 2, "time_window": 60, "rejected_msg": "Requests are too frequent, please try again later."}`,
			503, `{"error_msg":"Requests are too frequent, please try again later."}` + "\n", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := instance(t, "/apisix/routes/"+tc.name, tc.conf, store)
			r := plugintest.NewCtx(t, get("/hello"))
			for i, want := range []string{"1", "0"} {
				if st, _ := access(p, r); st != 0 {
					t.Fatalf("request %d rejected: %d", i, st)
				}
				if got := header(r, "X-RateLimit-Remaining"); got != want {
					t.Fatalf("request %d: remaining %s, want %s", i, got, want)
				}
				if lim, reset := header(r, "X-RateLimit-Limit"), header(r, "X-RateLimit-Reset"); lim != "2" || reset != "60" {
					t.Fatalf("request %d: limit %s reset %s", i, lim, reset)
				}
				plugintest.Reset(t, r, get("/hello"))
			}
			clk.Advance(1500 * time.Millisecond)
			st, body := access(p, r)
			if st != tc.status || body != tc.body {
				t.Fatalf("third request: %d %q, want %d %q", st, body, tc.status, tc.body)
			}
			if got := header(r, "X-RateLimit-Remaining"); got != tc.lastRemaning {
				t.Fatalf("rejected: remaining %s", got)
			}
			if got := header(r, "X-RateLimit-Reset"); got != "58.5" {
				t.Fatalf("rejected: reset %s", got)
			}
			// Another client has its own quota.
			plugintest.Reset(t, r, get("/hello"))
			plugintest.SetRemote(r, "127.0.0.2")
			if st, _ := access(p, r); st != 0 {
				t.Fatalf("other client rejected: %d", st)
			}
		})
	}
}

func TestShowLimitQuotaHeaderOff(t *testing.T) {
	p := instance(t, "/apisix/routes/noheaders", `{"count": 1, "time_window": 60, "show_limit_quota_header": false}`, NewStore(0, nil))
	r := plugintest.NewCtx(t, get("/hello"))
	access(p, r)
	if got := header(r, "X-RateLimit-Remaining"); got != "<none>" {
		t.Fatalf("header set: %s", got)
	}
}

// limit-count2.t TEST 6-14: key_type var and var_combination, and the
// client address when the key is empty.
func TestKeyTypes(t *testing.T) {
	store := NewStore(0, nil)
	for _, tc := range []struct {
		name, conf string
		// requests: header lines and remote address; the statuses expected
		reqs [][2]string
		want []int
	}{
		{"var", `{"count": 2, "time_window": 60, "key": "http_a", "key_type": "var"}`,
			[][2]string{{"A: 1\r\n", "1.1.1.1"}, {"A: 1\r\n", "1.1.1.2"}, {"A: 1\r\n", "1.1.1.3"}, {"A: 2\r\n", "1.1.1.3"}},
			[]int{0, 0, 503, 0}},
		{"var absent: remote_addr", `{"count": 2, "time_window": 60, "key": "http_a", "key_type": "var"}`,
			[][2]string{{"", "2.2.2.2"}, {"", "2.2.2.2"}, {"", "2.2.2.2"}, {"", "2.2.2.3"}},
			[]int{0, 0, 503, 0}},
		{"var_combination", `{"count": 2, "time_window": 60, "key": "$http_a $http_b", "key_type": "var_combination"}`,
			[][2]string{{"A: 1\r\n", "3.3.3.1"}, {"A: 1\r\n", "3.3.3.2"}, {"A: 1\r\n", "3.3.3.3"}, {"A: 1\r\nB: 1\r\n", "3.3.3.3"}},
			[]int{0, 0, 503, 0}},
		{"var_combination nothing resolved: remote_addr", `{"count": 1, "time_window": 60, "key": "$http_a $http_b", "key_type": "var_combination"}`,
			[][2]string{{"", "4.4.4.1"}, {"", "4.4.4.1"}, {"", "4.4.4.2"}},
			[]int{0, 503, 0}},
		{"invalid var_combination: remote_addr", `{"count": 1, "time_window": 60, "key": "abcdefgh", "key_type": "var_combination"}`,
			[][2]string{{"", "5.5.5.1"}, {"", "5.5.5.1"}, {"", "5.5.5.2"}},
			[]int{0, 503, 0}},
		{"constant", `{"count": 2, "time_window": 60, "key": "c", "key_type": "constant"}`,
			[][2]string{{"", "6.6.6.1"}, {"", "6.6.6.2"}, {"", "6.6.6.3"}},
			[]int{0, 0, 503}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := instance(t, "/apisix/routes/"+tc.name, tc.conf, store)
			var r *reqctx.Ctx
			for i, req := range tc.reqs {
				if r == nil {
					r = plugintest.NewCtx(t, get("/hello", req[0]))
				} else {
					plugintest.Reset(t, r, get("/hello", req[0]))
				}
				plugintest.SetRemote(r, req[1])
				if st, _ := access(p, r); st != tc.want[i] {
					t.Fatalf("request %d: %d, want %d", i, st, tc.want[i])
				}
			}
		})
	}
}

// limit-count.t TEST 21-23: a changed conf starts from zero; the same conf
// compiled again (another part of the config changed) keeps counting.
func TestCountersSurviveRecompileButNotAConfChange(t *testing.T) {
	store := NewStore(0, nil)
	conf := `{"count": 2, "time_window": 60}`
	r := plugintest.NewCtx(t, get("/hello"))
	access(instance(t, "/apisix/routes/1", conf, store), r)
	plugintest.Reset(t, r, get("/hello"))
	access(instance(t, "/apisix/routes/1", conf, store), r) // recompiled: same counter
	plugintest.Reset(t, r, get("/hello"))
	if st, _ := access(instance(t, "/apisix/routes/1", conf, store), r); st != 503 {
		t.Fatalf("recompiled conf reset the counter: %d", st)
	}
	plugintest.Reset(t, r, get("/hello"))
	if st, _ := access(instance(t, "/apisix/routes/1", `{"count": 3, "time_window": 60}`, store), r); st != 0 {
		t.Fatalf("changed conf kept the old counter: %d", st)
	}
	// The same conf on another route counts apart.
	plugintest.Reset(t, r, get("/hello"))
	if st, _ := access(instance(t, "/apisix/routes/2", conf, store), r); st != 0 {
		t.Fatalf("another route shares the counter: %d", st)
	}
}

// limit-count2.t TEST 15-16: routes of one group share the counter.
func TestGroupSharesCountersAcrossRoutes(t *testing.T) {
	store := NewStore(0, nil)
	conf := `{"count": 2, "time_window": 60, "group": "shared-` + t.Name() + `"}`
	a, b := instance(t, "/apisix/routes/1", conf, store), instance(t, "/apisix/routes/2", conf, store)
	r := plugintest.NewCtx(t, get("/hello"))
	var got []int
	for i := range 4 {
		p := a
		if i%2 == 1 {
			p = b
		}
		st, _ := access(p, r)
		got = append(got, st)
		plugintest.Reset(t, r, get("/hello"))
	}
	if fmt.Sprint(got) != "[0 0 503 503]" {
		t.Fatalf("statuses %v", got)
	}
	if string(a.prefix) != "shared-"+t.Name()+":" {
		t.Fatalf("group key prefix %q", a.prefix)
	}
}

func TestMetadataNamesTheHeaders(t *testing.T) {
	md, err := newMetadata(withMetadataDefaults(t, `{"limit_header": "X-Limit", "remaining_header": "X-Remaining", "reset_header": "X-Reset"}`))
	if err != nil {
		t.Fatal(err)
	}
	p := instance(t, "/apisix/routes/md", `{"count": 2, "time_window": 60}`, NewStore(0, nil))
	r := plugintest.NewCtx(t, get("/hello"))
	r.Config = metadataConfig{md}
	access(p, r)
	if got := header(r, "X-Limit") + " " + header(r, "X-Remaining") + " " + header(r, "X-Reset"); got != "2 1 60" {
		t.Fatalf("headers %q", got)
	}
	if got := header(r, "X-RateLimit-Limit"); got != "<none>" {
		t.Fatalf("default name still set: %s", got)
	}
}

type metadataConfig struct{ md any }

func (metadataConfig) Credential(string, []byte) *reqctx.Credential { return nil }
func (metadataConfig) Consumer(string) *reqctx.Consumer             { return nil }
func (m metadataConfig) Metadata(name string) any {
	if name == Name {
		return m.md
	}
	return nil
}

func withMetadataDefaults(t *testing.T, conf string) []byte {
	t.Helper()
	// The metadata schema's defaults, as BuildIndex fills them in.
	for _, f := range []string{"limit_header", "remaining_header", "reset_header"} {
		if !strings.Contains(conf, f) {
			t.Fatalf("test metadata must name %s", f)
		}
	}
	return []byte(conf)
}

// limit-count-rules.t: each rule counts under its own key with its own
// headers; a rule keyed on absent variables does not apply.
func TestRules(t *testing.T) {
	p := instance(t, "/apisix/routes/rules", `{"rejected_code": 503, "rejected_msg": "rejected", "rules": [
		{"count": 1, "time_window": 10, "key": "${http_user}"},
		{"count": 2, "time_window": 20, "key": "${http_project}", "header_prefix": "Project"}]}`, NewStore(0, nil))
	r := plugintest.NewCtx(t, get("/hello", "User: jack\r\n"))
	if st, _ := access(p, r); st != 0 {
		t.Fatalf("first: %d", st)
	}
	if got := header(r, "X-1-RateLimit-Limit") + " " + header(r, "X-1-RateLimit-Remaining") + " " + header(r, "X-1-RateLimit-Reset"); got != "1 0 10" {
		t.Fatalf("rule 1 headers %q", got)
	}
	if got := header(r, "X-Project-RateLimit-Limit"); got != "<none>" {
		t.Fatalf("rule 2 applied without its key: %s", got)
	}
	plugintest.Reset(t, r, get("/hello", "User: jack\r\n"))
	if st, body := access(p, r); st != 503 || body != `{"error_msg":"rejected"}`+"\n" {
		t.Fatalf("second: %d %q", st, body)
	}
	plugintest.Reset(t, r, get("/hello", "Project: apisix\r\n"))
	access(p, r)
	if got := header(r, "X-Project-RateLimit-Limit") + " " + header(r, "X-Project-RateLimit-Remaining"); got != "2 1" {
		t.Fatalf("rule 2 headers %q", got)
	}
	// No rule applies: APISIX answers 500.
	plugintest.Reset(t, r, get("/hello"))
	if st, _ := access(p, r); st != 500 {
		t.Fatalf("no rule applies: %d", st)
	}
}

// limit-count-variable.t: count and time_window from variables, with
// defaults; a value that is not a positive integer answers 500.
func TestValuesFromVariables(t *testing.T) {
	p := instance(t, "/apisix/routes/vars", `{"count": "${http_count ?? 2}", "time_window": "${http_window ?? 60}"}`, NewStore(0, nil))
	r := plugintest.NewCtx(t, get("/hello", "Count: 3\r\n"))
	access(p, r)
	if got := header(r, "X-RateLimit-Limit") + " " + header(r, "X-RateLimit-Remaining"); got != "3 2" {
		t.Fatalf("headers %q", got)
	}
	plugintest.Reset(t, r, get("/hello"))
	plugintest.SetRemote(r, "127.0.0.2")
	access(p, r)
	if got := header(r, "X-RateLimit-Limit") + " " + header(r, "X-RateLimit-Reset"); got != "2 60" {
		t.Fatalf("defaults: %q", got)
	}
	for _, bad := range []string{"Count: 0\r\n", "Count: 1.5\r\n", "Count: abc\r\n", "Count: -1\r\n"} {
		plugintest.Reset(t, r, get("/hello", bad))
		plugintest.SetRemote(r, "127.0.0.3")
		if st, _ := access(p, r); st != 500 {
			t.Fatalf("%q: %d, want 500", bad, st)
		}
	}
	pd := instance(t, "/apisix/routes/vars-degrade", `{"count": "${http_count}", "time_window": 60, "allow_degradation": true}`, NewStore(0, nil))
	plugintest.Reset(t, r, get("/hello", "Count: x\r\n"))
	plugintest.SetRemote(r, "127.0.0.3")
	if st, _ := access(pd, r); st != 0 {
		t.Fatalf("allow_degradation: %d", st)
	}
}

func TestChecksSpeakAPISIX(t *testing.T) {
	for _, tc := range []struct{ conf, err string }{
		// limit-count.t TEST 8, 9, 41, 42
		{`{"time_window": 60}`, "value should match only one schema, but matches none"},
		{`{"count": -100, "time_window": 60}`, `property "count" validation failed: value should match only one schema, but matches none`},
		{`{"count": 0, "time_window": 60}`, `property "count" validation failed: value should match only one schema, but matches none`},
		{`{"count": 2, "time_window": 0}`, `property "time_window" validation failed: value should match only one schema, but matches none`},
		// limit-count2.t TEST 1, 2
		{`{"count": 2, "time_window": 60, "rejected_msg": true}`, `property "rejected_msg" validation failed: wrong type: expected string, got boolean`},
		{`{"count": 2, "time_window": 60, "rejected_msg": ""}`, `property "rejected_msg" validation failed: string too short, expected at least 1, got 0`},
		// limit-count-rules.t TEST 1, 2
		{`{"count": 2, "time_window": 5, "rules": [{"count": 1, "time_window": 10, "key": "${http_company}"}]}`,
			"count/time_window and rules cannot be specified at the same time"},
		{`{"count": 2, "rules": [{"count": 1, "time_window": 10, "key": "${http_company}"}]}`,
			"count/time_window and rules cannot be specified at the same time"},
		{`{"rules": [{"count": 5, "time_window": 10, "key": "${http_company}"}, {"count": 8, "time_window": 20, "key": "${http_company}"}]}`,
			"duplicate key '${http_company}' in rules"},
		{`{"group": "g", "rules": [{"count": 5, "time_window": 10, "key": "${http_company}"}]}`,
			"group and rules cannot be specified at the same time"},
		// limit-count-redis.t TEST 1, limit-count-redis-cluster.t TEST 1
		{`{"count": 2, "time_window": 60, "policy": "redis"}`, "then clause did not match"},
		{`{"count": 2, "time_window": 60, "policy": "redis-cluster"}`, "else clause did not match"},
		{`{"count": 2, "time_window": 60, "policy": "redis", "redis_host": "127.0.0.1", "sync_interval": 0.05}`, "sync_interval should not be smaller than 0.1"},
		{`{"count": 2, "time_window": 60, "policy": "redis", "redis_host": "127.0.0.1", "sync_interval": 60}`, "sync_interval should be smaller than time_window"},
		{`{"count": 2, "time_window": 60}`, ""},
		{`{"count": "${http_count ?? 2}", "time_window": 60}`, ""},
		{`{"count": 2, "time_window": 60, "policy": "redis", "redis_host": "127.0.0.1", "sync_interval": 1}`, ""},
	} {
		_, err := plugintest.Checked(Name, tc.conf)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%s: %v, want %q", tc.conf, err, tc.err)
		}
	}
}

// limit-count2.t TEST 19: a group's confs must be equal while the first
// one is remembered (5 minutes, 8 groups).
func TestGroupConfsMustMatch(t *testing.T) {
	now := time.Unix(1000, 0)
	g := groupRefs{now: func() time.Time { return now }}
	conf := func(count float64) map[string]any {
		return map[string]any{"count": count, "time_window": float64(60), "group": "afafafhao", "policy": "local",
			"key": "remote_addr", "key_type": "var", "rejected_code": float64(503)}
	}
	if err := checkWith(&g, conf(2)); err != nil {
		t.Fatal(err)
	}
	if err := checkWith(&g, conf(2)); err != nil {
		t.Fatalf("same conf: %v", err)
	}
	if err := checkWith(&g, conf(1)); err != errGroupMismatch {
		t.Fatalf("different conf: %v", err)
	}
	now = now.Add(groupRefsTTL)
	if err := checkWith(&g, conf(1)); err != nil {
		t.Fatalf("after the reference expired: %v", err)
	}
	if err := checkWith(&g, conf(2)); err != errGroupMismatch {
		t.Fatalf("the new reference: %v", err)
	}
	for i := range groupRefsMax {
		c := conf(2)
		c["group"] = fmt.Sprint("other-", i)
		_ = checkWith(&g, c)
	}
	if err := checkWith(&g, conf(2)); err != nil {
		t.Fatalf("evicted group still refused: %v", err)
	}
}

// The Def as the registry runs it: schema defaults, compile, access.
func TestRunsThroughTheRegistry(t *testing.T) {
	r := plugintest.Registry(t, Name)
	ch, err := r.Compile(&plugin.Env{Owner: "/apisix/routes/" + t.Name()}, map[string]json.RawMessage{Name: json.RawMessage(`{"count": 1, "time_window": 60}`)})
	if err != nil {
		t.Fatal(err)
	}
	req := plugintest.NewCtx(t, get("/hello"))
	if res, _ := ch.Run(plugin.Access, req, 0, nil); res != reqctx.Continue {
		t.Fatal(res)
	}
	plugintest.Reset(t, req, get("/hello"))
	if res, _ := ch.Run(plugin.Access, req, 0, nil); res != reqctx.Stop || req.Status != 503 {
		t.Fatalf("%v %d", res, req.Status)
	}
}

// limit-count-sliding.t: windows aligned on the clock; the previous
// window's count weighs in by what is left of the current one; only
// admitted requests count.
func TestSlidingWindow(t *testing.T) {
	var mono plugintest.Clock
	store := NewStore(0, mono.Now)
	p := instance(t, "/apisix/routes/sliding", `{"count": 4, "time_window": 10, "window_type": "sliding"}`, store)
	wall := time.Unix(1000, 0) // a window boundary (1000 / 10)
	p.wall = func() time.Time { return wall }
	r := plugintest.NewCtx(t, get("/hello"))
	step := func(advance time.Duration) string {
		wall = wall.Add(advance)
		mono.Advance(advance)
		plugintest.Reset(t, r, get("/hello"))
		st, _ := access(p, r)
		return fmt.Sprintf("%d %s %s", st, header(r, "X-RateLimit-Remaining"), header(r, "X-RateLimit-Reset"))
	}
	var got []string
	for range 5 {
		got = append(got, step(0))
	}
	if want := "[0 3 10 0 2 10 0 1 10 0 0 10 503 0 10]"; fmt.Sprint(got) != want {
		t.Fatalf("first window: %v, want %v", got, want)
	}
	// Half way into the next window, half the previous count (4) still
	// weighs (2): two are admitted; the third is rejected with the delay
	// until the estimate frees one (5 - (4-2)/0.4 = 0 s).
	got = []string{step(15 * time.Second), step(0), step(0)}
	if want := "[0 1 5 0 0 5 503 0 0]"; fmt.Sprint(got) != want {
		t.Fatalf("next window: %v, want %v", got, want)
	}
}
