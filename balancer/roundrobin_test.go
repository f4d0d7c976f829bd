package balancer

import (
	"math/rand/v2"
	"testing"

	"github.com/sluicegw/sluice/config"
)

// The distributions APISIX's t/node/rr-balance.t asserts.
func TestRoundRobinWeights(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []int
		picks   int
		want    []int
	}{
		{"3:2:1 over 12", []int{3, 2, 1}, 12, []int{6, 4, 2}},
		{"1:1 over 12", []int{1, 1}, 12, []int{6, 6}},
		{"zero weight never chosen", []int{1, 0, 1}, 10, []int{5, 0, 5}},
		{"gcd steps", []int{4, 2}, 6, []int{4, 2}},
		{"single node", []int{5}, 3, []int{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := counts(pickerOf(config.RoundRobin, tc.weights...), len(tc.weights), tc.picks, &Request{})
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("counts %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestRoundRobinInterleaves(t *testing.T) {
	rr := pickerOf(config.RoundRobin, 3, 2, 1)
	var st State
	st.rr[0] = rrCursor{started: true, index: -1} // deterministic start
	var seq []int
	for i := 0; i < 6; i++ {
		seq = append(seq, rr.Pick(&st, &Request{}))
	}
	want := []int{0, 0, 1, 0, 1, 2}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("sequence %v, want %v", seq, want)
		}
	}
}

func TestRoundRobinSkipsTriedAndDown(t *testing.T) {
	rr := pickerOf(config.RoundRobin, 1, 1, 1)
	var tried, down Set
	tried.Add(1)
	got := counts(rr, 3, 9, &Request{Tried: &tried})
	if got[1] != 0 || got[0]+got[2] != 9 {
		t.Fatalf("tried node picked: %v", got)
	}
	down.Add(0)
	got = counts(rr, 3, 9, &Request{Tried: &tried, Down: &down})
	if got != nil && (got[0] != 0 || got[1] != 0 || got[2] != 9) {
		t.Fatalf("down node picked while another is up: %v", got)
	}
	down.Add(2)
	got = counts(rr, 3, 8, &Request{Tried: &tried, Down: &down})
	if got[1] != 0 || got[0]+got[2] != 8 {
		t.Fatalf("all untried nodes down: they must all be eligible again, got %v", got)
	}
	tried.Add(0)
	tried.Add(2)
	var st State
	if n := rr.Pick(&st, &Request{Tried: &tried}); n != -1 {
		t.Fatalf("all tried: got %d, want -1", n)
	}
	if n := pickerOf(config.RoundRobin, 0, 0).Pick(&st, &Request{}); n != -1 {
		t.Fatalf("all zero weight: got %d, want -1", n)
	}
}

func TestNewUsesNodeWeights(t *testing.T) {
	u := &config.Upstream{Nodes: config.Nodes{{Host: "a", Port: 1, Weight: 2}, {Host: "b", Port: 1, Weight: 1}}}
	got := counts(New(u), 2, 30, &Request{})
	if got[0] != 20 || got[1] != 10 {
		t.Fatalf("counts %v, want [20 10]", got)
	}
}

// A heavy node tried must not make the walk step through every weight
// level down to the light one (1e9 passes before the jump).
func TestRoundRobinHeavyNodeTried(t *testing.T) {
	rr := pickerOf(config.RoundRobin, 1_000_000_000, 1)
	var st State
	for range 3 {
		if got := rr.Pick(&st, &Request{Tried: setOf(0)}); got != 1 {
			t.Fatalf("got %d, want 1", got)
		}
		if got := rr.Pick(&st, &Request{}); got != 0 {
			t.Fatalf("untried: got %d, want 0", got)
		}
	}
}

// refWalk is resty.roundrobin's find, level by level with no shortcut.
func refWalk(g *rrGroup, c *rrCursor, tried, down *Set) int {
	n := len(g.nodes)
	for steps := n * (g.max/g.gcd + 1); steps > 0; steps-- {
		c.index++
		if c.index >= n {
			c.index = 0
		}
		if c.index == 0 {
			c.current -= g.gcd
			if c.current <= 0 {
				c.current = g.max
			}
		}
		if i := g.nodes[c.index]; g.weights[c.index] >= c.current && eligible(i, tried, down) {
			return i
		}
	}
	return -1
}

// The jump past empty weight levels gives the same sequence, and leaves the
// cursor where, the level-by-level walk would.
func TestRoundRobinJumpMatchesLevelWalk(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + rnd.IntN(6)
		weights := make([]int, n)
		for i := range weights {
			weights[i] = 1 + rnd.IntN(12)
		}
		g := newRoundRobin(groupsOf(nodesOf(weights...))).groups[0]
		fast, ref := rrCursor{started: true, index: rnd.IntN(n+1) - 1}, rrCursor{}
		ref = fast
		for range 20 {
			var tried Set
			for i := range n {
				if rnd.IntN(3) == 0 {
					tried.Add(i)
				}
			}
			got, want := g.walk(&fast, &tried, nil), refWalk(&g, &ref, &tried, nil)
			if got != want || (want >= 0 && fast != ref) {
				t.Fatalf("weights %v tried %v: got %d (cursor %+v), want %d (cursor %+v)", weights, tried.w, got, fast, want, ref)
			}
			if want < 0 {
				fast = ref
			}
		}
	}
}
