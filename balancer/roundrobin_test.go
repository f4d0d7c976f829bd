package balancer

import (
	"testing"

	"github.com/sluicegw/sluice/config"
)

func counts(p Picker, nodes, picks int, tried uint64) []int {
	c := make([]int, nodes)
	for i := 0; i < picks; i++ {
		if n := p.Pick(0, tried); n >= 0 {
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
			got := counts(newRoundRobin(tc.weights, 1), len(tc.weights), tc.picks, 0)
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("counts %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestRoundRobinInterleaves(t *testing.T) {
	rr := newRoundRobin([]int{3, 2, 1}, 1)
	rr.cursors[0].index = -1 // deterministic start
	var seq []int
	for i := 0; i < 6; i++ {
		seq = append(seq, rr.Pick(0, 0))
	}
	want := []int{0, 0, 1, 0, 1, 2}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("sequence %v, want %v", seq, want)
		}
	}
}

func TestRoundRobinSkipsTried(t *testing.T) {
	rr := newRoundRobin([]int{1, 1, 1}, 1)
	got := counts(rr, 3, 9, 1<<1)
	if got[1] != 0 || got[0]+got[2] != 9 {
		t.Fatalf("tried node picked: %v", got)
	}
	if n := rr.Pick(0, 0b111); n != -1 {
		t.Fatalf("all tried: got %d, want -1", n)
	}
	if n := newRoundRobin([]int{0, 0}, 1).Pick(0, 0); n != -1 {
		t.Fatalf("all zero weight: got %d, want -1", n)
	}
}

func TestNewUsesNodeWeights(t *testing.T) {
	u := &config.Upstream{Nodes: config.Nodes{{Host: "a", Port: 1, Weight: 2}, {Host: "b", Port: 1, Weight: 1}}}
	got := counts(New(u, 2), 2, 30, 0)
	if got[0] != 20 || got[1] != 10 {
		t.Fatalf("counts %v, want [20 10]", got)
	}
}
