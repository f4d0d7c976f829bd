//go:build !race

package balancer

import (
	"fmt"
	"testing"
)

// Picking allocates nothing, for every balancer and size, on the first
// try and on retries with nodes tried and down (fasthttp's
// allocation_test.go is the model; -race allocates, hence the build tag).
func TestPickAllocatesNothing(t *testing.T) {
	for _, b := range balancers {
		for _, n := range []int{1, 3, 10, 100, 200} {
			t.Run(fmt.Sprintf("%v/%d", b, n), func(t *testing.T) {
				nodes := nodesOf(make([]int, n)...)
				for i := range nodes {
					nodes[i].Weight = 1 + i%3
					nodes[i].Priority = i % 2
				}
				p := New(upstreamOf(b, nodes))
				stats := make(statsOf, n)
				var st State
				var tried, down Set
				tried.Add(n - 1) // grows the overflow words before measuring
				down.Add(n - 1)
				r := &Request{Key: []byte("10.1.2.3"), Tried: &tried, Down: &down, Stats: stats}
				k := 0
				allocs := testing.AllocsPerRun(200, func() {
					tried.Reset()
					down.Reset()
					if k%2 == 0 {
						down.Add(k % n)
					}
					for range 3 { // a first try and two retries
						i := p.Pick(&st, r)
						if i < 0 {
							break
						}
						tried.Add(i)
						stats[i].Started()
						stats[i].Responded(1000, int64(k))
						stats[i].Finished()
					}
					k++
				})
				if allocs != 0 {
					t.Fatalf("%v allocations per request", allocs)
				}
			})
		}
	}
}
