package limitconn

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// instance compiles conf (checked, defaults filled) for route 1 on counters.
func instance(t testing.TB, conf string, counters *Counters) *limitConn {
	t.Helper()
	return plugintest.Instance(t, Name, conf, func(stored []byte) (*limitConn, error) {
		return compile(&plugin.Env{Owner: "/apisix/routes/1"}, stored, counters)
	})
}

// hello is the tests' request head, to which a test adds header lines.
const hello = "GET /hello HTTP/1.1\r\nHost: test\r\n"

// outcome runs access and names the result: "ok", "delay <d>" or the status.
func outcome(l *limitConn, c *reqctx.Ctx) string {
	switch l.Access(c) {
	case reqctx.Continue:
		return "ok"
	case reqctx.Parked:
		j := c.TakeParked()
		defer j.Resume(c)
		return "delay"
	}
	return fmt.Sprint(c.Status)
}

// limit-conn.t: conn 2, burst 1: two in flight pass, the third waits, the
// fourth is rejected; as they finish (log) the count goes down.
func TestInFlightCountsAndDelays(t *testing.T) {
	counters := NewCounters(0)
	l := instance(t, `{"conn": 2, "burst": 1, "default_conn_delay": 0.1, "key": "remote_addr", "rejected_msg": "busy"}`, counters)
	var reqs []*reqctx.Ctx
	var got []string
	for range 4 {
		c := plugintest.NewCtx(t, hello)
		got = append(got, outcome(l, c))
		reqs = append(reqs, c)
	}
	if fmt.Sprint(got) != "[ok ok delay 503]" {
		t.Fatalf("outcomes %v", got)
	}
	if _, body, _, _ := reqs[3].Exited(); string(body) != `{"error_msg":"busy"}`+"\n" {
		t.Fatalf("body %q", body)
	}
	key := string(l.prefix) + "127.0.0.1"
	if n := counters.InFlight(key); n != 3 {
		t.Fatalf("in flight %d, want 3 (the rejected one is not counted)", n)
	}
	for _, c := range reqs {
		l.Log(c) // log runs for every request, the rejected one too
	}
	if n := counters.InFlight(key); n != 0 {
		t.Fatalf("in flight after log %d", n)
	}
	// Log twice (a second limit-conn conf's hook) gives back nothing more.
	c := plugintest.NewCtx(t, hello)
	outcome(l, c)
	l.Log(c)
	l.Log(c)
	if n := counters.InFlight(key); n != 0 {
		t.Fatalf("double log: %d", n)
	}
}

func TestDelayGrowsPerConnBeyond(t *testing.T) {
	counters := NewCounters(0)
	l := instance(t, `{"conn": 1, "burst": 3, "default_conn_delay": 0.25, "key": "remote_addr"}`, counters)
	for i, want := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond} {
		c := plugintest.NewCtx(t, hello)
		plugintest.SetRemote(c, "10.0.0.1")
		res := l.Access(c)
		if want == 0 {
			if res != reqctx.Continue {
				t.Fatalf("request %d: %v", i, res)
			}
			continue
		}
		if res != reqctx.Parked {
			t.Fatalf("request %d: %v, want a delay", i, res)
		}
		// The parked job sleeps on a worker.
		j := c.TakeParked()
		if got := ratelimit.Delayed(j); got != want {
			t.Fatalf("request %d waits %v, want %v", i, got, want)
		}
		j.Resume(c)
	}
}

func TestRulesAndVariables(t *testing.T) {
	counters := NewCounters(0)
	l := instance(t, `{"default_conn_delay": 0.1, "rules": [
		{"conn": "${http_conn ?? 1}", "burst": 0, "key": "${http_user}"},
		{"conn": 5, "burst": "${http_burst}", "key": "${http_project}"}]}`, counters)
	a := plugintest.NewCtx(t, hello+"User: jack\r\n")
	b := plugintest.NewCtx(t, hello+"User: jack\r\n")
	if outcome(l, a) != "ok" || outcome(l, b) != "503" {
		t.Fatal("rule 1: conn 1 by user")
	}
	c := plugintest.NewCtx(t, hello+"User: jack\r\nConn: 2\r\n")
	if got := outcome(l, c); got != "ok" {
		t.Fatalf("conn from the header: %s", got)
	}
	// The second rule's burst does not resolve: the entry is skipped.
	d := plugintest.NewCtx(t, hello+"Project: p\r\n")
	if got := outcome(l, d); got != "500" {
		t.Fatalf("no rule applies: %s", got)
	}
	for _, r := range []*reqctx.Ctx{a, b, c, d} {
		l.Log(r)
	}
	if n := counters.InFlight(string(l.prefix) + "jack"); n != 0 {
		t.Fatalf("in flight %d", n)
	}
	// A conf's own conn that does not resolve answers 500 (or goes through).
	l = instance(t, `{"conn": "${http_conn}", "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`, counters)
	if got := outcome(l, plugintest.NewCtx(t, hello+"Conn: 0\r\n")); got != "500" {
		t.Fatalf("conn 0: %s", got)
	}
	l = instance(t, `{"conn": "${http_conn}", "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr", "allow_degradation": true}`, counters)
	if got := outcome(l, plugintest.NewCtx(t, hello+"Conn: x\r\n")); got != "ok" {
		t.Fatalf("allow_degradation: %s", got)
	}
}

// waitFor polls cond (the leaver gives no sign when it is done).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outcomeParked runs access as the engine does, the parked job included.
func outcomeParked(l *limitConn, c *reqctx.Ctx) string {
	res := l.Access(c)
	for res == reqctx.Parked {
		j := c.TakeParked()
		if ratelimit.Delayed(j) > 0 {
			j.Resume(c)
			return "delay"
		}
		j.Run()
		res = j.Resume(c)
	}
	if res == reqctx.Continue {
		return "ok"
	}
	return fmt.Sprint(c.Status)
}

// limit-conn-redis.t: the in-flight set on Redis (APISIX's sorted set and
// script); the log hook takes the request out, off the loop.
func TestRedisPolicy(t *testing.T) {
	port := plugintest.Redis(t)
	l := instance(t, fmt.Sprintf(`{"conn": 1, "burst": 1, "default_conn_delay": 0.1, "key": "remote_addr", "rejected_code": 503,
		"policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d}`, port), NewCounters(0))
	a, b, c := plugintest.NewCtx(t, hello), plugintest.NewCtx(t, hello), plugintest.NewCtx(t, hello)
	if got := []string{outcomeParked(l, a), outcomeParked(l, b), outcomeParked(l, c)}; fmt.Sprint(got) != "[ok delay 503]" {
		t.Fatalf("outcomes %v", got)
	}
	l.Log(a)
	l.Log(b)
	l.Log(c)
	// Once the leaver removed them, the set has room again.
	waitFor(t, "members removed", func() bool {
		d := plugintest.NewCtx(t, hello)
		ok := outcomeParked(l, d) == "ok"
		l.Log(d)
		return ok
	})
	// A wrong password: 500 (limit-conn-redis.t TEST 10-11).
	port = plugintest.Redis(t, "--requirepass", "secret")
	bad := instance(t, fmt.Sprintf(`{"conn": 1, "burst": 1, "default_conn_delay": 0.1, "key": "remote_addr",
		"policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d, "redis_password": "wrong"}`, port), NewCounters(0))
	if got := outcomeParked(bad, plugintest.NewCtx(t, hello)); got != "500" {
		t.Fatalf("wrong password: %s", got)
	}
}

func TestChecks(t *testing.T) {
	for _, tc := range []struct{ conf, err string }{
		// limit-conn.t TEST 7-14, 19, 25; limit-conn2.t; limit-conn-redis.t; limit-conn-variable.t
		{`{"conn": 1, "burst": 0, "key": "remote_addr"}`, "value should match only one schema, but matches none"},
		{`{"conn": -1, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`,
			`property "conn" validation failed: value should match only one schema, but matches none`},
		{`{"conn": 1, "burst": 0, "default_conn_delay": 0, "key": "remote_addr"}`,
			`property "default_conn_delay" validation failed: expected 0 to be greater than 0`},
		{`{"conn": 1, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr", "allow_degradation": "true"}`,
			`property "allow_degradation" validation failed: wrong type: expected boolean, got string`},
		{`{"conn": 1, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr", "rejected_msg": ""}`,
			`property "rejected_msg" validation failed: string too short, expected at least 1, got 0`},
		{`{"conn": 1, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr", "policy": "redis"}`, "then clause did not match"},
		{`{"conn": 1, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr", "rules": [{"conn": 1, "burst": 0, "key": "$remote_addr"}]}`,
			"value should match only one schema, but matches both schemas 1 and 2"},
		{`{"conn": 1, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`, ""},
	} {
		_, err := plugintest.Checked(Name, tc.conf)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%s: %v, want %q", tc.conf, err, tc.err)
		}
	}
}
