package balancer

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/sluicegw/sluice/config"
)

const keys = 10_000

func key(i int) []byte { return []byte("user-" + strconv.Itoa(i)) }

// addrsOf maps every key to the address chash picks for it.
func addrsOf(p Picker, nodes config.Nodes, r *Request) []string {
	out := make([]string, keys)
	var st State
	for k := range keys {
		r.Key = key(k)
		i := p.Pick(&st, r)
		if i < 0 {
			out[k] = ""
			continue
		}
		out[k] = nodes[i].Addr()
	}
	return out
}

// The ring is a pure function of the node set: pickers built apart (two
// processes), with the nodes listed in another order, picked from other
// States (other loops), agree on every key.
func TestCHashDeterministic(t *testing.T) {
	nodes := nodesOf(1, 2, 3, 1, 1)
	shuffled := slices.Clone(nodes)
	slices.Reverse(shuffled)
	a := addrsOf(New(upstreamOf(config.CHash, nodes)), nodes, &Request{})
	b := addrsOf(New(upstreamOf(config.CHash, shuffled)), shuffled, &Request{})
	if !slices.Equal(a, b) {
		t.Fatal("pickers built from the same nodes in another order disagree")
	}
	p := New(upstreamOf(config.CHash, nodes))
	var loops [4]State
	for k := range 1000 {
		r := &Request{Key: key(k)}
		first := p.Pick(&loops[0], r)
		for l := range loops {
			if got := p.Pick(&loops[l], r); got != first {
				t.Fatalf("key %d: loop %d picked %d, loop 0 %d", k, l, got, first)
			}
		}
	}
	// Pinned: the ring's hash scheme is part of the contract between
	// sluice processes of different versions behind one load balancer.
	golden := []string{a[0], a[1], a[2], a[3]}
	want := []string{"10.0.0.4:80", "10.0.0.3:80", "10.0.0.5:80", "10.0.0.1:80"}
	if !slices.Equal(golden, want) {
		t.Fatalf("keys 0-3 map to %v, want %v (the ring changed: keys move between versions)", golden, want)
	}
}

func shares(addrs []string) map[string]float64 {
	m := map[string]float64{}
	for _, a := range addrs {
		m[a] += 1.0 / float64(len(addrs))
	}
	return m
}

// Keys spread in proportion to weight.
func TestCHashWeights(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []int
		tol     float64 // relative
	}{
		{"equal", []int{1, 1, 1, 1, 1}, 0.15},
		{"1:2:3", []int{1, 2, 3}, 0.15},
		{"gcd 100", []int{100, 200, 300}, 0.15},
		{"scaled", []int{400, 401, 402}, 0.1}, // past MaxRingPoints: scaled down
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := nodesOf(tc.weights...)
			got := shares(addrsOf(New(upstreamOf(config.CHash, nodes)), nodes, &Request{}))
			sum := 0
			for _, w := range tc.weights {
				sum += w
			}
			for i, w := range tc.weights {
				want := float64(w) / float64(sum)
				t.Logf("node %d weight %d: share %.3f, ideal %.3f", i, w, got[nodes[i].Addr()], want)
				if s := got[nodes[i].Addr()]; math.Abs(s-want) > tc.tol*want {
					t.Errorf("node %d (weight %d): share %.3f, want %.3f ±%.0f%%", i, w, s, want, tc.tol*100)
				}
			}
		})
	}
}

func TestCHashRingPoints(t *testing.T) {
	for _, tc := range []struct {
		weights, want []int
	}{
		{[]int{1, 2, 3}, []int{160, 320, 480}},
		{[]int{100, 200}, []int{160, 320}},
		{[]int{7}, []int{160}},
		{[]int{1, 1 << 40}, []int{1, MaxRingPoints - 1}},
		{[]int{1, 408}, []int{160, 408 * 160}},
		{[]int{1, 409}, []int{159, 65376}},
	} {
		got := pointCounts(tc.weights)
		if !slices.Equal(got, tc.want) {
			t.Errorf("pointCounts(%v) = %v, want %v", tc.weights, got, tc.want)
		}
	}
	c := New(upstreamOf(config.CHash, nodesOf(1, 2, 0, 3))).(*chash)
	per := map[int32]int{}
	for _, o := range c.rings[0].owners {
		per[o]++
	}
	if per[0] != 160 || per[1] != 320 || per[2] != 0 || per[3] != 480 {
		t.Fatalf("points per node %v", per)
	}
	if !slices.IsSorted(c.rings[0].hashes) {
		t.Fatal("ring not sorted")
	}
}

// Adding or removing a node moves about 1/N of the keys, and only to or
// from that node.
func TestCHashRemapping(t *testing.T) {
	const n = 10
	base := nodesOf(slices.Repeat([]int{1}, n)...)
	grown := append(slices.Clone(base), config.Node{Host: "10.0.1.1", Port: 8080, Weight: 1})
	shrunk := slices.Delete(slices.Clone(base), 3, 4)

	before := addrsOf(New(upstreamOf(config.CHash, base)), base, &Request{})
	added := addrsOf(New(upstreamOf(config.CHash, grown)), grown, &Request{})
	removed := addrsOf(New(upstreamOf(config.CHash, shrunk)), shrunk, &Request{})

	moved := 0
	for k := range keys {
		if added[k] != before[k] {
			moved++
			if added[k] != "10.0.1.1:8080" {
				t.Fatalf("key %d moved from %s to %s, not to the new node", k, before[k], added[k])
			}
		}
	}
	t.Logf("adding an 11th node moved %d of %d keys (1/11 = %d)", moved, keys, keys/(n+1))
	if f, want := float64(moved)/keys, 1.0/(n+1); f < want*0.6 || f > want*1.4 {
		t.Errorf("adding a node moved %.3f of the keys, want about %.3f", f, want)
	}
	moved = 0
	for k := range keys {
		if removed[k] != before[k] {
			moved++
			if before[k] != base[3].Addr() {
				t.Fatalf("key %d moved from %s though that node stayed", k, before[k])
			}
		}
	}
	t.Logf("removing 1 of 10 nodes moved %d of %d keys (1/10 = %d)", moved, keys, keys/n)
	if f, want := float64(moved)/keys, 1.0/n; f < want*0.6 || f > want*1.4 {
		t.Errorf("removing a node moved %.3f of the keys, want about %.3f", f, want)
	}
}

// Tried and down nodes are skipped by walking on to the next distinct node
// on the ring; the keys of healthy nodes stay put.
func TestCHashWalk(t *testing.T) {
	nodes := nodesOf(1, 1, 1, 1)
	p := New(upstreamOf(config.CHash, nodes))
	c := p.(*chash)
	var st State
	for k := range 500 {
		r := &Request{Key: key(k)}
		first := p.Pick(&st, r)
		// The next distinct owner along the ring, by hand.
		g := &c.rings[0]
		j, _ := slices.BinarySearch(g.hashes, hashOf(r.Key))
		var order []int
		for s := 0; s < len(g.owners) && len(order) < len(nodes); s++ {
			o := int(g.owners[(j+s)%len(g.owners)])
			if !slices.Contains(order, o) {
				order = append(order, o)
			}
		}
		if order[0] != first {
			t.Fatalf("key %d: picked %d, ring owner %d", k, first, order[0])
		}
		var tried Set
		for step := 1; step < len(nodes); step++ {
			tried.Add(order[step-1])
			if got := p.Pick(&st, &Request{Key: r.Key, Tried: &tried}); got != order[step] {
				t.Fatalf("key %d with %v tried: got %d, want %d", k, order[:step], got, order[step])
			}
			if got := p.Pick(&st, &Request{Key: r.Key, Down: &tried}); got != order[step] {
				t.Fatalf("key %d with %v down: got %d, want %d", k, order[:step], got, order[step])
			}
		}
		// All down: used anyway, first owner; all tried: none.
		tried.Add(order[len(nodes)-1])
		if got := p.Pick(&st, &Request{Key: r.Key, Down: &tried}); got != first {
			t.Fatalf("key %d all down: got %d, want %d", k, got, first)
		}
		if got := p.Pick(&st, &Request{Key: r.Key, Tried: &tried}); got != -1 {
			t.Fatalf("key %d all tried: got %d", k, got)
		}
		// Tried and down: the untried down node is the fallback.
		down := setOf(order[3])
		tried.Reset()
		tried.Add(order[0])
		tried.Add(order[1])
		tried.Add(order[2])
		if got := p.Pick(&st, &Request{Key: r.Key, Tried: &tried, Down: down}); got != order[3] {
			t.Fatalf("key %d: got %d, want the only untried node %d", k, got, order[3])
		}
	}
}

// An empty key is a key like any other (the caller substitutes
// remote_addr; if that is empty too, every request lands on one node).
func TestCHashEmptyKey(t *testing.T) {
	p := pickerOf(config.CHash, 1, 1, 1)
	var st State
	first := p.Pick(&st, &Request{})
	for range 10 {
		if got := p.Pick(&st, &Request{Key: []byte{}}); got != first || got < 0 {
			t.Fatalf("empty key picked %d then %d", first, got)
		}
	}
}
