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
	rt := newRoundTripper(t, g.addr)
	for i := 0; i < 100; i++ { // warm the pool, scratch buffers and free lists
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
		t.Fatalf("%v allocations per proxied request, want 0", best)
	}
}
