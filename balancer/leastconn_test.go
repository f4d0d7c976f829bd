package balancer

import (
	"testing"

	"github.com/sluicegw/sluice/config"
)

func TestLeastConn(t *testing.T) {
	// Idle nodes of equal weight share the picks (the scan start rotates).
	if got := counts(pickerOf(config.LeastConn, 1, 1, 1), 3, 300, &Request{}); got[0] != 100 || got[1] != 100 || got[2] != 100 {
		t.Fatalf("idle equal nodes: counts %v", got)
	}
	// Idle nodes: the heavier weight wins ((1+0)/2 < (1+0)/1).
	if got := counts(pickerOf(config.LeastConn, 1, 2, 1), 3, 30, &Request{Stats: make(statsOf, 3)}); got[1] != 30 {
		t.Fatalf("idle weighted nodes: counts %v, want all on the heaviest", got)
	}
	// A busy node loses to an idle one.
	stats := make(statsOf, 2)
	stats[0].InFlight = 5
	if got := counts(pickerOf(config.LeastConn, 1, 1), 2, 10, &Request{Stats: stats}); got[1] != 10 {
		t.Fatalf("busy node 0: counts %v", got)
	}
	// Requests that never finish pile up in proportion to weight.
	p := pickerOf(config.LeastConn, 3, 1)
	stats = make(statsOf, 2)
	var st State
	r := &Request{Stats: stats}
	for range 400 {
		stats.Node(p.Pick(&st, r)).Started()
	}
	if stats[0].InFlight < 299 || stats[0].InFlight > 301 {
		t.Fatalf("in flight %d/%d, want 300/100", stats[0].InFlight, stats[1].InFlight)
	}
	// Tried and down are skipped even when lighter.
	stats = make(statsOf, 3)
	stats[2].InFlight = 100
	if got := pickerOf(config.LeastConn, 1, 1, 1).Pick(&st, &Request{Stats: stats, Tried: setOf(0), Down: setOf(1)}); got != 2 {
		t.Fatalf("got %d, want 2", got)
	}
}

func TestLighter(t *testing.T) {
	const big = 1 << 62
	for _, tc := range []struct {
		a, wa, b, wb uint64
		want         bool
	}{
		{1, 1, 2, 1, true},
		{2, 1, 1, 1, false},
		{1, 1, 1, 1, false},
		{2, 2, 1, 1, false}, // equal ratios
		{3, 2, 2, 1, true},
		{big, big, big + 1, big, true}, // products past 64 bits
	} {
		if got := lighter(tc.a, tc.wa, tc.b, tc.wb); got != tc.want {
			t.Errorf("lighter(%d/%d, %d/%d) = %v", tc.a, tc.wa, tc.b, tc.wb, got)
		}
	}
}
