//go:build !race

package engine

import (
	"testing"
	"time"
)

// A proxied request allocates nothing in steady state (STYLE rule 15): the
// whole process is measured, and the test's client and upstream do not
// allocate, so any allocation is the gateway's.
//
// The one periodic allocation is gnet's Execute wrapper when a loop ticks
// (once per Tick, never per request). With a 1 s tick, a ~40 ms window
// rarely contains one, so the test measures several windows and takes the
// cleanest: a per-request allocation would show in every window.
func TestProxiedRequestAllocatesNothing(t *testing.T) {
	up := fixedUpstream(t)
	g := startGateway(t, routeTo(up), Options{Loops: 1, Tick: time.Second})
	measureAllocs(t, newRoundTripper(t, g.addr), "proxied request")
}

// The balancer, health-check and statistics wiring adds nothing per
// request either: three nodes, each balancer, checks with passive counting.
func TestBalancedRequestAllocatesNothing(t *testing.T) {
	n1, n2, n3 := fixedUpstream(t), fixedUpstream(t), fixedUpstream(t)
	with, _ := withHealth(t)
	checks := "      checks:\n        active:\n          healthy: {interval: 3600}\n          unhealthy: {interval: 3600}\n        passive:\n          healthy: {successes: 3}\n"
	for _, kind := range []string{"roundrobin", "chash", "ewma", "least_conn"} {
		t.Run(kind, func(t *testing.T) {
			extra := "      type: " + kind + "\n" + checks
			if kind == "chash" {
				extra += "      hash_on: header\n      key: X-User\n"
			}
			g := startGateway(t, upstreamYAML(extra, n1, "3", n2, "2", n3, "1"), Options{Loops: 1, Tick: time.Second}, with)
			measureAllocs(t, newRoundTripper(t, g.addr), "proxied request")
		})
	}
}

// measureAllocs fails t unless rt's request, repeated, allocates nothing in
// at least one of five measuring windows; what names the request.
func measureAllocs(t *testing.T, rt *roundTripper, what string) {
	t.Helper()
	for i := 0; i < 200; i++ { // warm the pool, scratch buffers and free lists
		if err := rt.do(); err != nil {
			t.Fatal(err)
		}
	}
	best := -1.0
	for window := 0; window < 5 && best != 0; window++ {
		allocs := testing.AllocsPerRun(500, func() {
			if err := rt.do(); err != nil {
				t.Fatal(err)
			}
		})
		if best < 0 || allocs < best {
			best = allocs
		}
	}
	if best != 0 {
		t.Fatalf("%v allocations per %s, want 0", best, what)
	}
}
