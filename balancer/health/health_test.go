package health_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/config"
)

// upstream decodes an upstream with the given checks and array-form nodes
// ("host:port"), as the config builder would receive it.
func upstream(t testing.TB, checks string, nodes ...string) *config.Upstream {
	t.Helper()
	var list []string
	for _, n := range nodes {
		host, port, err := net.SplitHostPort(n)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, fmt.Sprintf(`{"host": %q, "port": %s, "weight": 1}`, host, port))
	}
	raw := `{"nodes": [` + strings.Join(list, ",") + `]`
	if checks != "" {
		raw += `, "checks": ` + checks
	}
	obj, err := config.Upstreams.Decode("1", []byte(raw+"}"))
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return obj.(*config.Upstream)
}

// quietManager never probes on its own within a test: intervals last hours.
func quietManager(t *testing.T) *health.Manager {
	m := health.NewManager(health.Options{})
	m.SetIntervalUnit(time.Hour)
	t.Cleanup(m.Close)
	return m
}

const (
	tcpF = health.TCPFailure
	tmo  = health.Timeout
)

func st(code int) health.Outcome { return health.HTTPStatus(code) }

// TestThresholds replays reports against lua-resty-healthcheck's counting
// rules with APISIX's defaults (active: 2 successes, 5 http failures, 2 tcp
// failures, 3 timeouts; passive: 5, 5, 2, 7).
func TestThresholds(t *testing.T) {
	type step struct {
		active bool
		o      health.Outcome
		want   health.State
	}
	P := func(o health.Outcome, want health.State) step { return step{false, o, want} }
	A := func(o health.Outcome, want health.State) step { return step{true, o, want} }
	rep := func(n int, s step) []step {
		out := make([]step, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	cat := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	const (
		H  = health.Healthy
		U  = health.Unhealthy
		MH = health.MostlyHealthy
		MU = health.MostlyUnhealthy
	)
	withPassive := `{"active": {}, "passive": {}}`
	for _, tc := range []struct {
		name   string
		checks string
		steps  []step
		want   health.Counters
	}{
		{"passive: two tcp failures take a node down", withPassive,
			[]step{P(tcpF, MH), P(tcpF, U), P(tcpF, U)},
			health.Counters{TCPFailure: 2}},
		{"passive: seven timeouts", withPassive,
			cat(rep(6, P(tmo, MH)), []step{P(tmo, U)}),
			health.Counters{TimeoutFailure: 7}},
		{"passive: five 500s; 404 and 502 are in neither default list", withPassive,
			cat([]step{P(st(404), H), P(st(502), H)}, rep(4, P(st(500), MH)), []step{P(st(503), U)}),
			health.Counters{HTTPFailure: 5}},
		{"passive: five successes bring it back", withPassive,
			cat([]step{P(tcpF, MH), P(tcpF, U)}, rep(4, P(st(200), MU)), []step{P(st(308), H)}),
			health.Counters{Success: 5}},
		{"no passive section: statuses do not count, tcp failures do", `{"active": {}}`,
			cat(rep(6, P(st(500), H)), rep(6, P(st(200), H)), []step{P(tcpF, MH), P(tcpF, U)}),
			health.Counters{TCPFailure: 2}},
		{"a success clears failures but mostly_healthy stays until the threshold", withPassive,
			[]step{P(tcpF, MH), P(st(200), MH), P(tcpF, MH), P(tcpF, U)},
			health.Counters{TCPFailure: 2}},
		{"a healthy node counts no successes", withPassive,
			rep(3, P(st(200), H)),
			health.Counters{}},
		{"active: two successes re-admit", withPassive,
			[]step{P(tcpF, MH), P(tcpF, U), A(st(200), MU), A(st(302), H)},
			health.Counters{Success: 2}},
		{"active: five http failures, status 0 counts, 301 does not", `{"active": {}}`,
			cat(rep(4, A(st(500), MH)), []step{A(st(301), MH), A(st(0), U)}),
			health.Counters{HTTPFailure: 5}},
		{"active: three timeouts", `{"active": {}}`,
			[]step{A(tmo, MH), A(tmo, MH), A(tmo, U)},
			health.Counters{TimeoutFailure: 3}},
		{"active: tcp probe success counts", `{"active": {"type": "tcp"}}`,
			[]step{A(tcpF, MH), A(tcpF, U), A(health.ProbeOK, MU), A(health.ProbeOK, H)},
			health.Counters{Success: 2}},
		{"failure counters of each kind add up separately", withPassive,
			[]step{P(tmo, MH), A(st(500), MH), P(tcpF, MH), P(tcpF, U)},
			health.Counters{TimeoutFailure: 1, HTTPFailure: 1, TCPFailure: 2}},
		{"active and passive share counters, each with its own limit",
			`{"active": {"unhealthy": {"http_failures": 5}}, "passive": {"unhealthy": {"http_failures": 3}}}`,
			[]step{A(st(500), MH), A(st(500), MH), P(st(500), U)},
			health.Counters{HTTPFailure: 3}},
		{"a zero threshold disables that counter",
			`{"active": {}, "passive": {"healthy": {"successes": 0}, "unhealthy": {"tcp_failures": 0}}}`,
			cat(rep(5, P(tcpF, H)), rep(6, P(tmo, MH)), []step{P(tmo, U)}, rep(3, P(st(200), U))),
			health.Counters{TimeoutFailure: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := quietManager(t)
			c := m.Acquire("upstreams/1", upstream(t, tc.checks, "127.0.0.1:1980"), []string{"127.0.0.1:1980"})
			for i, s := range tc.steps {
				if s.active {
					c.Probe(0, s.o)
				} else {
					c.ReportSync(0, s.o)
				}
				if got, _ := c.Node(0); got != s.want {
					t.Fatalf("step %d (%v): state %s, want %s", i, s.o, got, s.want)
				}
				if down := c.Down().Has(0); down != s.want.Down() {
					t.Fatalf("step %d: Down has the node: %v, want %v", i, down, s.want.Down())
				}
			}
			if _, got := c.Node(0); got != tc.want {
				t.Fatalf("counters %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDownSetIsCopyOnWrite(t *testing.T) {
	m := quietManager(t)
	nodes := []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}
	c := m.Acquire("upstreams/1", upstream(t, `{"active": {}}`, nodes...), nodes)
	if c.Down() != nil {
		t.Fatal("a new checker has nodes down")
	}
	c.ReportSync(1, tcpF)
	c.ReportSync(1, tcpF)
	first := c.Down()
	if first.Len() != 1 || !first.Has(1) {
		t.Fatalf("down %d nodes, has 1: %v", first.Len(), first.Has(1))
	}
	c.ReportSync(2, tcpF)
	c.ReportSync(2, tcpF)
	if second := c.Down(); second == first || second.Len() != 2 || !second.Has(2) {
		t.Fatal("the second node down did not publish a new set")
	}
	if first.Len() != 1 || first.Has(2) {
		t.Fatal("a published set changed")
	}
	for range 2 {
		c.Probe(1, st(200))
		c.Probe(2, st(200))
	}
	if c.Down() != nil {
		t.Fatal("all nodes healthy again, yet a Down set remains")
	}
}

func TestNilAndDisabled(t *testing.T) {
	var m *health.Manager
	u := upstream(t, `{"active": {}}`, "127.0.0.1:1")
	if c := m.Acquire("upstreams/1", u, []string{"127.0.0.1:1"}); c != nil {
		t.Fatal("a nil manager returned a checker")
	}
	var c *health.Checker
	c.Report(0, tcpF) // must not panic
	if c.Down() != nil || m.Status() != nil {
		t.Fatal("nil checker or manager reports state")
	}
	m.Release(nil)

	live := quietManager(t)
	if c := live.Acquire("upstreams/1", upstream(t, "", "127.0.0.1:1"), []string{"127.0.0.1:1"}); c != nil {
		t.Fatal("an upstream without checks got a checker")
	}
	if c := live.Acquire("upstreams/1", u, nil); c != nil {
		t.Fatal("an upstream without nodes got a checker")
	}
	c = live.Acquire("upstreams/1", u, []string{"127.0.0.1:1"})
	c.Report(7, tcpF) // out of range: ignored
	c.Report(-1, tcpF)
	live.Close()
	if live.Acquire("upstreams/1", u, []string{"127.0.0.1:1"}) != nil {
		t.Fatal("a closed manager returned a checker")
	}
}

// TestReuseAcrossVersions: a new version with the same checks and nodes
// gets the same checker; other nodes keep the surviving nodes' state; other
// checks start afresh.
func TestReuseAcrossVersions(t *testing.T) {
	m := quietManager(t)
	const a, b, c = "127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"
	checks := `{"active": {"http_path": "/status"}}`
	v1 := m.Acquire("upstreams/1", upstream(t, checks, a, b), []string{a, b})
	v1.ReportSync(1, tcpF)
	v1.ReportSync(1, tcpF)

	// An edit that leaves checks and nodes alone (desc, retries...).
	v2 := m.Acquire("upstreams/1", upstream(t, checks, a, b), []string{a, b})
	if v2 != v1 {
		t.Fatal("an unchanged upstream got a new checker")
	}
	m.Release(v1)
	if !v2.Down().Has(1) {
		t.Fatal("releasing the old version reset the shared checker")
	}

	// A node-only change: b keeps its state at its new index.
	v3 := m.Acquire("upstreams/1", upstream(t, checks, b, c), []string{b, c})
	if v3 == v2 || !v3.Down().Has(0) || v3.Down().Has(1) {
		t.Fatalf("node change: same checker %v, down %v %v", v3 == v2, v3.Down().Has(0), v3.Down().Has(1))
	}
	m.Release(v2)
	if _, ctr := v3.Node(0); ctr.TCPFailure != 2 {
		t.Fatalf("b's counters after the old version left: %+v", ctr)
	}
	// The status view is the newest version's.
	s, ok := m.StatusOf("upstreams/1")
	if !ok || len(s.Nodes) != 2 || s.Nodes[0].Port != 1002 || s.Nodes[0].Status != "unhealthy" || s.Nodes[1].Port != 1003 {
		t.Fatalf("status %+v", s)
	}

	// New checks: a fresh start.
	v4 := m.Acquire("upstreams/1", upstream(t, `{"active": {"http_path": "/other"}}`, b, c), []string{b, c})
	if v4 == v3 || v4.Down() != nil {
		t.Fatal("changed checks kept the old state")
	}
	m.Release(v3)
	m.Release(v3) // a second release of a released checker is ignored
	if s, _ := m.StatusOf("upstreams/1"); s.Nodes[0].Status != "healthy" {
		t.Fatalf("status after the checks changed: %+v", s)
	}
	m.Release(v4)
	if st := m.Status(); len(st) != 0 {
		t.Fatalf("status after every release: %+v", st)
	}
	m.WaitStopped()
}

// TestSharedTarget: checks.active.port makes every node of a host one
// target, as in APISIX; a report about one node counts for both.
func TestSharedTarget(t *testing.T) {
	m := quietManager(t)
	nodes := []string{"127.0.0.1:1980", "127.0.0.1:1988"}
	c := m.Acquire("services/1", upstream(t, `{"active": {"port": 1988, "host": "127.0.0.1"}}`, nodes...), nodes)
	c.ReportSync(0, tcpF)
	c.ReportSync(1, tcpF)
	if d := c.Down(); !d.Has(0) || !d.Has(1) {
		t.Fatal("nodes sharing a target are not down together")
	}
	s, _ := m.StatusOf("services/1")
	if len(s.Nodes) != 1 || s.Nodes[0].Port != 1988 || s.Nodes[0].Counter.TCPFailure != 2 {
		t.Fatalf("status %+v", s)
	}
}

// TestStatusJSON: the control API entry has APISIX's shape
// (t/control/healthcheck.t, TEST 1).
func TestStatusJSON(t *testing.T) {
	m := quietManager(t)
	nodes := []string{"127.0.0.1:1980", "127.0.0.2:1988"}
	c := m.Acquire("upstreams/1", upstream(t, `{"active": {"http_path": "/status", "healthy": {"successes": 1}, "unhealthy": {"http_failures": 1}}}`, nodes...), nodes)
	c.Probe(1, tcpF)
	c.Probe(1, tcpF)
	b, err := json.Marshal(m.Status())
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"/upstreams/1","nodes":[` +
		`{"counter":{"http_failure":0,"success":0,"tcp_failure":0,"timeout_failure":0},"hostname":"127.0.0.1","ip":"127.0.0.1","port":1980,"status":"healthy"},` +
		`{"counter":{"http_failure":0,"success":0,"tcp_failure":2,"timeout_failure":0},"hostname":"127.0.0.2","ip":"127.0.0.2","port":1988,"status":"unhealthy"}],"type":"http"}]`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// TestHostHeaderAndTargetKey: the Host header follows APISIX's
// compute_targets: upstream_host under pass_host rewrite, else a domain
// node's name, else checks.active.host, else the node's address.
func TestHostHeaderAndTargetKey(t *testing.T) {
	m := quietManager(t)
	u := upstream(t, `{"active": {"host": "check.test"}}`, "127.0.0.1:80", "localhost:8080")
	c := m.Acquire("routes/1", u, []string{"127.0.0.1:80", "localhost:8080"})
	s, _ := m.StatusOf("routes/1")
	if s.Nodes[0].Hostname != "check.test" || s.Nodes[0].HostHeader != "" ||
		s.Nodes[1].Hostname != "check.test" || s.Nodes[1].HostHeader != "localhost" || s.Nodes[1].IP != "localhost" {
		t.Fatalf("status %+v", s)
	}
	u.PassHost, u.UpstreamHost = config.PassHostRewrite, "up.test"
	c2 := m.Acquire("routes/1", u, []string{"127.0.0.1:80", "localhost:8080"})
	if c2 == c {
		t.Fatal("a new Host header kept the same targets")
	}
	s, _ = m.StatusOf("routes/1")
	if s.Nodes[0].HostHeader != "up.test" || s.Nodes[1].HostHeader != "up.test" {
		t.Fatalf("rewrite: %+v", s)
	}
	if got := strconv.Itoa(len(m.Status())); got != "1" {
		t.Fatalf("owners listed: %s", got)
	}
}

// TestHugeIntervals: intervals the schema accepts but a time.Duration
// cannot hold mean "never", not a panic.
func TestHugeIntervals(t *testing.T) {
	m := health.NewManager(health.Options{})
	defer m.Close()
	u := upstream(t, `{"active": {"healthy": {"interval": 9000000000000000000}}}`, "127.0.0.1:1")
	m.Release(m.Acquire("upstreams/1", u, []string{"127.0.0.1:1"}))
	m.WaitStopped()
}
