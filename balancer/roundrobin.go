package balancer

import (
	"math/rand/v2"

	"github.com/sluicegw/sluice/config"
)

// Picker chooses upstream nodes.
type Picker interface {
	// Pick returns the index of the node for the next request on loop
	// (0 <= loop < the loops the picker was built for), never one whose bit
	// is set in tried (bit i = node i; nodes past 63 cannot be excluded), or
	// -1 when no node is eligible. Loop-only for that loop.
	Pick(loop int, tried uint64) int
}

// New builds the picker for u's nodes, with cursors for loops event loops.
func New(u *config.Upstream, loops int) Picker {
	weights := make([]int, len(u.Nodes))
	for i, n := range u.Nodes {
		weights[i] = n.Weight
	}
	return newRoundRobin(weights, loops)
}

// roundRobin is lua-resty-balancer's resty.roundrobin (APISIX's default):
// interleaved weighted round-robin. The current weight steps down by the
// GCD of the weights each time the walk wraps, and a node is chosen when its
// weight reaches the current weight, so weights 3:2:1 give A A B A B C.
// Nodes of weight 0 are never chosen.
type roundRobin struct {
	weights []int
	gcd     int
	max     int
	cursors []cursor
}

// cursor is one loop's position, padded to its own cache line.
type cursor struct {
	index, current int
	_              [48]byte
}

func newRoundRobin(weights []int, loops int) *roundRobin {
	rr := &roundRobin{weights: weights, cursors: make([]cursor, loops)}
	for _, w := range weights {
		rr.gcd = gcd(rr.gcd, w)
		rr.max = max(rr.max, w)
	}
	for i := range rr.cursors {
		// Each loop starts at a random node so loops do not move in step.
		rr.cursors[i].index = rand.IntN(len(weights)+1) - 1
	}
	return rr
}

func (rr *roundRobin) Pick(loop int, tried uint64) int {
	n := len(rr.weights)
	if rr.max == 0 {
		return -1
	}
	c := &rr.cursors[loop]
	// One full cycle visits every eligible node at least once, so bound the
	// walk by n steps per weight level.
	for steps := n * (rr.max/rr.gcd + 1); steps > 0; steps-- {
		c.index++
		if c.index >= n {
			c.index = 0
		}
		if c.index == 0 {
			c.current -= rr.gcd
			if c.current <= 0 {
				c.current = rr.max
			}
		}
		if rr.weights[c.index] >= c.current && (c.index > 63 || tried&(1<<c.index) == 0) {
			return c.index
		}
	}
	return -1
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
