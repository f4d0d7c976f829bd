package balancer

import (
	"testing"

	"github.com/sluicegw/sluice/config"
)

func counts(p Picker, nodes, picks int, r *Request) []int {
	c := make([]int, nodes)
	var st State
	for i := 0; i < picks; i++ {
		if n := p.Pick(&st, r); n >= 0 {
			c[n]++
		}
	}
	return c
}

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
			got := counts(newRoundRobin(tc.weights), len(tc.weights), tc.picks, &Request{})
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("counts %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestRoundRobinInterleaves(t *testing.T) {
	rr := newRoundRobin([]int{3, 2, 1})
	st := State{started: true, index: -1} // deterministic start
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
	rr := newRoundRobin([]int{1, 1, 1})
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
	if n := newRoundRobin([]int{0, 0}).Pick(&st, &Request{}); n != -1 {
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

func TestSet(t *testing.T) {
	var s Set
	for _, i := range []int{0, 63, 64, 127, 128, 500} {
		if s.Has(i) {
			t.Fatalf("empty set has %d", i)
		}
		s.Add(i)
		if !s.Has(i) {
			t.Fatalf("set lacks %d after Add", i)
		}
	}
	if s.Len() != 6 || s.Has(1) || s.Has(499) {
		t.Fatalf("len %d", s.Len())
	}
	s.Reset()
	if s.Len() != 0 || s.Has(500) {
		t.Fatal("Reset left members")
	}
	var nilSet *Set
	if nilSet.Has(3) || nilSet.Len() != 0 {
		t.Fatal("nil set is not empty")
	}
}
