package balancer

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluicegw/sluice/config"
)

// Nodes 0, 1 at priority 10; 2 at 0; 3 at -5; 4 (weight 0) at 20.
func priorityNodes() config.Nodes {
	ns := nodesOf(1, 1, 1, 1, 0)
	ns[0].Priority, ns[1].Priority, ns[2].Priority, ns[3].Priority, ns[4].Priority = 10, 10, 0, -5, 20
	return ns
}

func TestPriorityGroups(t *testing.T) {
	for _, b := range balancers {
		t.Run(b.String(), func(t *testing.T) {
			p := New(upstreamOf(b, priorityNodes()))
			stats := make(statsOf, 5)
			for _, tc := range []struct {
				name        string
				tried, down []int
				want        []int // any of
			}{
				{"highest group", nil, nil, []int{0, 1}},
				{"one of the highest tried", []int{0}, nil, []int{1}},
				{"highest group tried", []int{0, 1}, nil, []int{2}},
				{"highest group down", nil, []int{0, 1}, []int{2}},
				{"tried and down", []int{0}, []int{1}, []int{2}},
				{"two groups out", []int{0, 2}, []int{1}, []int{3}},
				{"all down: highest again", nil, []int{0, 1, 2, 3}, []int{0, 1}},
				{"all untried down", []int{0, 1}, []int{2, 3}, []int{2}},
				{"all tried but weight 0", []int{0, 1, 2, 3}, nil, []int{-1}},
				{"all tried", []int{0, 1, 2, 3, 4}, nil, []int{-1}},
			} {
				r := &Request{Key: []byte("k"), Tried: setOf(tc.tried...), Down: setOf(tc.down...), Stats: stats}
				var st State
				for range 20 {
					got := p.Pick(&st, r)
					ok := false
					for _, w := range tc.want {
						ok = ok || got == w
					}
					if !ok {
						t.Fatalf("%s: got %d, want one of %v", tc.name, got, tc.want)
					}
				}
			}
		})
	}
}

// Round-robin keeps one cursor per group, beyond the inline ones too.
func TestPriorityRoundRobinManyGroups(t *testing.T) {
	ns := nodesOf(1, 1, 1, 1, 1, 1, 1, 1)
	for i := range ns {
		ns[i].Priority = i / 2 // groups {6,7} {4,5} {2,3} {0,1}, highest first
	}
	p := New(upstreamOf(config.RoundRobin, ns))
	var st State
	for _, tried := range [][]int{nil, {6, 7}, {4, 5, 6, 7}, {2, 3, 4, 5, 6, 7}} {
		got := map[int]int{}
		for range 10 {
			got[p.Pick(&st, &Request{Tried: setOf(tried...)})]++
		}
		if len(got) != 2 {
			t.Fatalf("tried %v: picks %v, want two nodes alternating", tried, got)
		}
		for i, c := range got {
			if c != 5 || i != 6-len(tried) && i != 7-len(tried) {
				t.Fatalf("tried %v: picks %v", tried, got)
			}
		}
	}
}

func TestSingleAndEmpty(t *testing.T) {
	for _, b := range balancers {
		var st State
		one := New(upstreamOf(b, nodesOf(0))) // weight 0: APISIX still uses a lone node
		if got := one.Pick(&st, &Request{Down: setOf(0)}); got != 0 {
			t.Fatalf("%v single: got %d", b, got)
		}
		if got := one.Pick(&st, &Request{Tried: setOf(0)}); got != -1 {
			t.Fatalf("%v single tried: got %d", b, got)
		}
		if got := New(upstreamOf(b, nil)).Pick(&st, &Request{}); got != -1 {
			t.Fatalf("%v no nodes: got %d", b, got)
		}
		if got := New(upstreamOf(b, nodesOf(0, 0))).Pick(&st, &Request{}); got != -1 {
			t.Fatalf("%v all weight 0: got %d", b, got)
		}
	}
}

// checkPick asserts Pick's contract for one request: in range or -1;
// never tried; -1 only when every pickable node is tried; a down node only
// when every untried pickable node is down; from the highest priority
// group that has a node eligible under those rules.
func checkPick(t testing.TB, nodes config.Nodes, r *Request, got int) {
	t.Helper()
	pickable := func(i int) bool { return len(nodes) == 1 || nodes[i].Weight > 0 }
	untried, up := false, false
	for i := range nodes {
		if pickable(i) && !r.Tried.Has(i) {
			untried = true
			up = up || !r.Down.Has(i)
		}
	}
	if got < 0 {
		if untried {
			t.Fatalf("got -1 with an untried node (tried %v)", r.Tried)
		}
		return
	}
	if got >= len(nodes) || !pickable(got) {
		t.Fatalf("got %d of %d nodes (weight %d)", got, len(nodes), nodes[got].Weight)
	}
	if r.Tried.Has(got) {
		t.Fatalf("got tried node %d", got)
	}
	if up && r.Down.Has(got) {
		t.Fatalf("got down node %d while an untried node is up", got)
	}
	for i := range nodes {
		if pickable(i) && !r.Tried.Has(i) && (!up || !r.Down.Has(i)) && nodes[i].Priority > nodes[got].Priority {
			t.Fatalf("got node %d of priority %d; node %d of priority %d is eligible",
				got, nodes[got].Priority, i, nodes[i].Priority)
		}
	}
}

// Random node sets, weights, priorities, tried and down sets, for every
// balancer: the contract holds.
func TestPickContract(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		n := 1 + rnd.IntN(6)
		if rnd.IntN(8) == 0 {
			n = 1 + rnd.IntN(150) // past the Set's inline 128
		}
		nodes := nodesOf(make([]int, n)...)
		stats := make(statsOf, n)
		for i := range nodes {
			nodes[i].Weight = rnd.IntN(4)
			nodes[i].Priority = rnd.IntN(3) - 1
			stats[i].InFlight = rnd.IntN(3)
			stats[i].Responded(time.Duration(rnd.Int64N(int64(100*time.Millisecond))), 0)
		}
		var tried, down Set
		for i := range n {
			switch rnd.IntN(4) {
			case 0:
				tried.Add(i)
			case 1:
				down.Add(i)
			}
		}
		r := &Request{Key: []byte{byte(rnd.IntN(256))}, Tried: &tried, Down: &down, Stats: stats, Now: sec}
		for _, b := range balancers {
			p := New(upstreamOf(b, nodes))
			var st State
			for range 3 {
				checkPick(t, nodes, r, p.Pick(&st, r))
			}
		}
	}
}
