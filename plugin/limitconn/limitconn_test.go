package limitconn

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/jsonschema"
	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

var testRegistry = sync.OnceValues(func() (*plugin.Registry, error) { return plugin.NewRegistry([]string{Name}, nil) })

func checked(conf string) ([]byte, error) {
	r, err := testRegistry()
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.DecodeJSON([]byte(conf))
	if err != nil {
		return nil, err
	}
	if err := r.CheckPlugin(nil, Name, v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func instance(t *testing.T, conf string, counters *Counters) *limitConn {
	t.Helper()
	raw, err := checked(conf)
	if err != nil {
		t.Fatal(err)
	}
	l, err := compile(&plugin.Env{Owner: "/apisix/routes/1"}, raw, counters)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// request is one request context; requests in flight at once need one each.
type request struct {
	c reqctx.Ctx
}

var loop reqctx.Loop

func newRequest(t testing.TB, headers, remote string) *request {
	t.Helper()
	r := &request{}
	c := &r.c
	c.Loop = &loop
	c.Head = []byte("GET /hello HTTP/1.1\r\nHost: test\r\n" + headers + "\r\n")
	lim := http1.Limits{}.WithDefaults()
	if err := c.Req.Parse(c.Head, &lim); err != nil {
		t.Fatal(err)
	}
	c.RemoteAddr = netip.MustParseAddr(remote)
	c.RemoteText = []byte(remote)
	c.Begin(c.Req.Path.Of(c.Head), c.Req.HostName.Of(c.Head), time.Now())
	return r
}

// outcome runs access and names the result: "ok", "delay <d>" or the status.
func outcome(l *limitConn, r *request) string {
	switch l.Access(&r.c) {
	case reqctx.Continue:
		return "ok"
	case reqctx.Parked:
		j := r.c.TakeParked()
		defer j.Resume(&r.c)
		return "delay"
	}
	return fmt.Sprint(r.c.Status)
}

// limit-conn.t: conn 2, burst 1: two in flight pass, the third waits, the
// fourth is rejected; as they finish (log) the count goes down.
func TestInFlightCountsAndDelays(t *testing.T) {
	counters := NewCounters(0)
	l := instance(t, `{"conn": 2, "burst": 1, "default_conn_delay": 0.1, "key": "remote_addr", "rejected_msg": "busy"}`, counters)
	var reqs []*request
	var got []string
	for range 4 {
		r := newRequest(t, "", "127.0.0.1")
		got = append(got, outcome(l, r))
		reqs = append(reqs, r)
	}
	if fmt.Sprint(got) != "[ok ok delay 503]" {
		t.Fatalf("outcomes %v", got)
	}
	if _, body, _, _ := reqs[3].c.Exited(); string(body) != `{"error_msg":"busy"}`+"\n" {
		t.Fatalf("body %q", body)
	}
	key := string(l.prefix) + "127.0.0.1"
	if n := counters.InFlight(key); n != 3 {
		t.Fatalf("in flight %d, want 3 (the rejected one is not counted)", n)
	}
	for _, r := range reqs {
		l.Log(&r.c) // log runs for every request, the rejected one too
	}
	if n := counters.InFlight(key); n != 0 {
		t.Fatalf("in flight after log %d", n)
	}
	// Log twice (a second limit-conn conf's hook) gives back nothing more.
	r := newRequest(t, "", "127.0.0.1")
	outcome(l, r)
	l.Log(&r.c)
	l.Log(&r.c)
	if n := counters.InFlight(key); n != 0 {
		t.Fatalf("double log: %d", n)
	}
}

func TestDelayGrowsPerConnBeyond(t *testing.T) {
	counters := NewCounters(0)
	l := instance(t, `{"conn": 1, "burst": 3, "default_conn_delay": 0.25, "key": "remote_addr"}`, counters)
	for i, want := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond} {
		r := newRequest(t, "", "10.0.0.1")
		res := l.Access(&r.c)
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
		j := r.c.TakeParked()
		if got := ratelimit.Delayed(j); got != want {
			t.Fatalf("request %d waits %v, want %v", i, got, want)
		}
		j.Resume(&r.c)
	}
}

func TestRulesAndVariables(t *testing.T) {
	counters := NewCounters(0)
	l := instance(t, `{"default_conn_delay": 0.1, "rules": [
		{"conn": "${http_conn ?? 1}", "burst": 0, "key": "${http_user}"},
		{"conn": 5, "burst": "${http_burst}", "key": "${http_project}"}]}`, counters)
	a := newRequest(t, "User: jack\r\n", "127.0.0.1")
	b := newRequest(t, "User: jack\r\n", "127.0.0.1")
	if outcome(l, a) != "ok" || outcome(l, b) != "503" {
		t.Fatal("rule 1: conn 1 by user")
	}
	c := newRequest(t, "User: jack\r\nConn: 2\r\n", "127.0.0.1")
	if got := outcome(l, c); got != "ok" {
		t.Fatalf("conn from the header: %s", got)
	}
	// The second rule's burst does not resolve: the entry is skipped.
	d := newRequest(t, "Project: p\r\n", "127.0.0.1")
	if got := outcome(l, d); got != "500" {
		t.Fatalf("no rule applies: %s", got)
	}
	for _, r := range []*request{a, b, c, d} {
		l.Log(&r.c)
	}
	if n := counters.InFlight(string(l.prefix) + "jack"); n != 0 {
		t.Fatalf("in flight %d", n)
	}
	// A conf's own conn that does not resolve answers 500 (or goes through).
	l = instance(t, `{"conn": "${http_conn}", "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`, counters)
	if got := outcome(l, newRequest(t, "Conn: 0\r\n", "127.0.0.1")); got != "500" {
		t.Fatalf("conn 0: %s", got)
	}
	l = instance(t, `{"conn": "${http_conn}", "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr", "allow_degradation": true}`, counters)
	if got := outcome(l, newRequest(t, "Conn: x\r\n", "127.0.0.1")); got != "ok" {
		t.Fatalf("allow_degradation: %s", got)
	}
}

// localRedis starts redis-server on a free port, or skips when it is not
// installed (the e2e tests require it; scripts/test.sh installs it).
func localRedis(t *testing.T, extra ...string) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir()}, extra...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "redis-server listening", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return port
}

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
func outcomeParked(l *limitConn, r *request) string {
	res := l.Access(&r.c)
	for res == reqctx.Parked {
		j := r.c.TakeParked()
		if ratelimit.Delayed(j) > 0 {
			j.Resume(&r.c)
			return "delay"
		}
		j.Run()
		res = j.Resume(&r.c)
	}
	if res == reqctx.Continue {
		return "ok"
	}
	return fmt.Sprint(r.c.Status)
}

// limit-conn-redis.t: the in-flight set on Redis (APISIX's sorted set and
// script); the log hook takes the request out, off the loop.
func TestRedisPolicy(t *testing.T) {
	port := localRedis(t)
	l := instance(t, fmt.Sprintf(`{"conn": 1, "burst": 1, "default_conn_delay": 0.1, "key": "remote_addr", "rejected_code": 503,
		"policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d}`, port), NewCounters(0))
	a, b, c := newRequest(t, "", "127.0.0.1"), newRequest(t, "", "127.0.0.1"), newRequest(t, "", "127.0.0.1")
	if got := []string{outcomeParked(l, a), outcomeParked(l, b), outcomeParked(l, c)}; fmt.Sprint(got) != "[ok delay 503]" {
		t.Fatalf("outcomes %v", got)
	}
	l.Log(&a.c)
	l.Log(&b.c)
	l.Log(&c.c)
	// Once the leaver removed them, the set has room again.
	waitFor(t, "members removed", func() bool {
		d := newRequest(t, "", "127.0.0.1")
		ok := outcomeParked(l, d) == "ok"
		l.Log(&d.c)
		return ok
	})
	// A wrong password: 500 (limit-conn-redis.t TEST 10-11).
	port = localRedis(t, "--requirepass", "secret")
	bad := instance(t, fmt.Sprintf(`{"conn": 1, "burst": 1, "default_conn_delay": 0.1, "key": "remote_addr",
		"policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d, "redis_password": "wrong"}`, port), NewCounters(0))
	if got := outcomeParked(bad, newRequest(t, "", "127.0.0.1")); got != "500" {
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
		_, err := checked(tc.conf)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%s: %v, want %q", tc.conf, err, tc.err)
		}
	}
}
