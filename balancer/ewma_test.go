package balancer

import (
	"testing"
	"time"

	"github.com/sluicegw/sluice/config"
)

// With feedback, the faster node wins every comparison it is in.
func TestEWMAPrefersFaster(t *testing.T) {
	p := pickerOf(config.EWMA, 1, 1, 1)
	stats := make(statsOf, 3)
	now := 1000 * sec
	stats[0].Responded(100*time.Millisecond, now)
	stats[1].Responded(10*time.Millisecond, now)
	stats[2].Responded(50*time.Millisecond, now)
	got := counts(p, 3, 3000, &Request{Stats: stats, Now: now})
	// Power of two choices over 3: the fastest is in 2/3 of the draws, the
	// middle one wins the remaining third, the slowest never wins.
	if got[0] != 0 || got[1] < 1800 || got[1] > 2200 || got[2] < 800 || got[2] > 1200 {
		t.Fatalf("counts %v, want about [0 2000 1000]", got)
	}
	// Two nodes: every pick compares both.
	p2 := pickerOf(config.EWMA, 1, 1)
	if got := counts(p2, 2, 100, &Request{Stats: stats[:2], Now: now}); got[1] != 100 {
		t.Fatalf("two nodes: counts %v, want all on node 1", got)
	}
}

// A slow node is tried again once its estimate has decayed below the
// estimate of a node that keeps being measured.
func TestEWMARecoversWithDecay(t *testing.T) {
	p := pickerOf(config.EWMA, 1, 1)
	stats := make(statsOf, 2)
	var st State
	t0 := 1000 * sec
	stats[0].Responded(100*time.Millisecond, t0)
	now := t0
	for ; now < t0+60*sec; now += sec {
		i := p.Pick(&st, &Request{Stats: stats, Now: now})
		if i == 0 {
			break
		}
		stats[1].Responded(10*time.Millisecond, now) // the fast node keeps answering in 10 ms
	}
	// Node 1, measured a second before each pick, reads 10 ms · e^-0.1;
	// node 0 reads 100 ms · e^(-t/10 s), lower once t > 10 s · ln(10 e^0.1)
	// ≈ 24.03 s: the first whole second after is 25 s.
	if d := time.Duration(now - t0); d != 25*time.Second {
		t.Fatalf("slow node picked again after %v, want after 25 s", d)
	}
	// A spike moves the estimate at once (peak).
	stats[0].Responded(time.Millisecond, now)
	stats[1].Responded(time.Second, now)
	if i := p.Pick(&st, &Request{Stats: stats, Now: now}); i != 0 {
		t.Fatalf("after a 1 s spike on node 1 it still won")
	}
}

// With no statistics, picks are uniform among eligible nodes; tried and
// down nodes are skipped.
func TestEWMAUniformAndEligible(t *testing.T) {
	p := pickerOf(config.EWMA, 1, 1, 1, 1)
	got := counts(p, 4, 4000, &Request{})
	for i, c := range got {
		if c < 850 || c > 1150 {
			t.Fatalf("counts %v: node %d far from 1000", got, i)
		}
	}
	got = counts(p, 4, 1000, &Request{Tried: setOf(0), Down: setOf(1, 2)})
	if got[3] != 1000 {
		t.Fatalf("counts %v: want all on the only eligible node 3", got)
	}
	got = counts(p, 4, 3000, &Request{Tried: setOf(0), Down: setOf(1, 2, 3)})
	if got[0] != 0 || got[1] < 850 || got[2] < 850 || got[3] < 850 {
		t.Fatalf("all untried down: counts %v, want them uniform", got)
	}
	// Stats that return nil for a node read as an unmeasured node.
	got = counts(p, 4, 100, &Request{Stats: nilStats{}})
	if got[0]+got[1]+got[2]+got[3] != 100 {
		t.Fatalf("nil node stats: counts %v", got)
	}
}

type nilStats struct{}

func (nilStats) Node(int) *NodeStats { return nil }

// The per-State source: two States draw different sequences.
func TestEWMAStatesDrawApart(t *testing.T) {
	var a, b State
	same := 0
	for range 64 {
		if a.intN(1<<30) == b.intN(1<<30) {
			same++
		}
	}
	if same > 2 {
		t.Fatalf("two States drew %d equal numbers of 64", same)
	}
}
