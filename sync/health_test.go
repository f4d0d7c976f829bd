package sync

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/trie"
)

// checks probes nothing during a test: intervals of an hour.
const checks = `"checks": {"active": {"healthy": {"interval": 3600}, "unhealthy": {"interval": 3600}}}`

func owners(m *health.Manager) []string {
	var out []string
	for _, s := range m.Status() {
		out = append(out, s.Owner)
	}
	return out
}

// TestHealthCheckersFollowTheConfig: a checker exists from the moment an
// upstream with checks is in the configuration, survives edits that leave
// its checks and nodes alone, and is gone with the upstream.
func TestHealthCheckersFollowTheConfig(t *testing.T) {
	m := health.NewManager(health.Options{})
	defer m.Close()
	b := &Builder{Mode: trie.URI, Health: m}
	up := func(rev int64, desc string) Change {
		return put(config.Upstreams, "u1", rev, `{"desc": "`+desc+`", "nodes": {"127.0.0.1:1980": 1, "127.0.0.1:1981": 1}, `+checks+`}`)
	}
	s, _ := b.Apply(1, []Change{
		up(1, "a"),
		put(config.Routes, "r1", 2, `{"uri": "/a", "upstream_id": "u1"}`),
		put(config.Routes, "r2", 3, `{"uri": "/b", "upstream": {"nodes": {"127.0.0.1:1982": 1}, `+checks+`}}`),
		put(config.Services, "s1", 4, `{"upstream": {"nodes": {"127.0.0.1:1983": 1}, `+checks+`}}`),
		put(config.Routes, "r3", 5, `{"uri": "/c", "upstream": {"nodes": {"127.0.0.1:1984": 1}}}`),
	}, false)
	if got := owners(m); !slices.Equal(got, []string{"routes/r2", "services/s1", "upstreams/u1"}) {
		t.Fatalf("checkers %v", got)
	}
	c := upOf(s, "/a").Health
	if c == nil || upOf(s, "/c").Health != nil {
		t.Fatal("checkers not where the checks are")
	}
	c.Report(1, health.TCPFailure)
	c.Report(1, health.TCPFailure)
	svc := b.st.svcUpstream["s1"].Health

	// Edits that keep checks and nodes keep the checker and its state.
	s, _ = b.Apply(2, []Change{
		up(6, "b"),
		put(config.Routes, "r2", 7, `{"uri": "/b2", "upstream": {"nodes": {"127.0.0.1:1982": 1}, `+checks+`}}`),
		put(config.Services, "s1", 8, `{"desc": "x", "upstream": {"nodes": {"127.0.0.1:1983": 1}, `+checks+`}}`),
	}, false)
	if upOf(s, "/a").Health != c || b.st.svcUpstream["s1"].Health != svc {
		t.Fatal("an edit that kept checks and nodes replaced the checker")
	}
	if st, _ := m.StatusOf("upstreams/u1"); st.Nodes[1].Counter.TCPFailure != 2 {
		t.Fatalf("state lost across the edit: %+v", st)
	}
	if got := owners(m); !slices.Equal(got, []string{"routes/r2", "services/s1", "upstreams/u1"}) {
		t.Fatalf("checkers after edits %v", got)
	}

	// Deleting the objects (or their checks) stops their checkers.
	b.Apply(3, []Change{
		del(config.Routes, "r1"), del(config.Upstreams, "u1"),
		put(config.Routes, "r2", 9, `{"uri": "/b2", "upstream": {"nodes": {"127.0.0.1:1982": 1}}}`),
		del(config.Services, "s1"),
	}, false)
	if got := owners(m); len(got) != 0 {
		t.Fatalf("checkers left %v", got)
	}
}

// TestHealthCheckersIncrementalMatchesRebuild: however a configuration is
// reached, exactly its upstreams with checks hold checkers.
func TestHealthCheckersIncrementalMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := health.NewManager(health.Options{})
	defer m.Close()
	inc := &Builder{Mode: trie.URI, Health: m}
	live := map[string]Change{}
	rev := int64(0)
	maybeChecks := func() string {
		if rng.IntN(2) == 0 {
			return ", " + checks
		}
		return ""
	}
	for step := range 200 {
		rev++
		var c Change
		switch rng.IntN(3) {
		case 0:
			id := fmt.Sprintf("u%d", rng.IntN(3))
			c = put(config.Upstreams, id, rev, fmt.Sprintf(`{"nodes": {"127.0.0.%d:80": 1}%s}`, rng.IntN(3), maybeChecks()))
			if rng.IntN(4) == 0 {
				c = del(config.Upstreams, id)
			}
		case 1:
			id := fmt.Sprintf("s%d", rng.IntN(3))
			c = put(config.Services, id, rev, fmt.Sprintf(`{"upstream": {"nodes": {"127.0.1.%d:80": 1}%s}}`, rng.IntN(3), maybeChecks()))
			if rng.IntN(4) == 0 {
				c = del(config.Services, id)
			}
		default:
			id := fmt.Sprintf("r%d", rng.IntN(6))
			c = put(config.Routes, id, rev, fmt.Sprintf(`{"uri": "/%d", "upstream": {"nodes": {"127.0.2.%d:80": 1}%s}}`, rng.IntN(3), rng.IntN(3), maybeChecks()))
			if rng.IntN(3) == 0 {
				c = put(config.Routes, id, rev, fmt.Sprintf(`{"uri": "/%d", "service_id": "s%d"}`, rng.IntN(3), rng.IntN(3)))
			}
			if rng.IntN(5) == 0 {
				c = del(config.Routes, id)
			}
		}
		key := c.Kind.Name + "/" + c.ID
		if c.Item == nil {
			delete(live, key)
		} else {
			live[key] = c
		}
		inc.Apply(rev, []Change{c}, false)

		fm := health.NewManager(health.Options{})
		all := make([]Change, 0, len(live))
		for _, c := range live {
			all = append(all, c)
		}
		(&Builder{Mode: trie.URI, Health: fm}).Apply(rev, all, true)
		if got, want := owners(m), owners(fm); !slices.Equal(got, want) {
			t.Fatalf("step %d: incremental holds checkers %v, rebuild %v", step, got, want)
		}
		fm.Close()
	}
}
