package balancer

import "math/rand/v2"

// roundRobin is lua-resty-balancer's resty.roundrobin (APISIX's default):
// interleaved weighted round-robin. The current weight steps down by the
// GCD of the weights each time the walk wraps, and a node is chosen when its
// weight reaches the current weight, so weights 3:2:1 give A A B A B C.
// Each loop starts its walk at a random node, so loops (and gateways) do
// not move in step. Each priority group has its own cycle and each loop its
// own cursor in it.
type roundRobin struct {
	groups []rrGroup
}

type rrGroup struct {
	group
	gcd, max int
}

var _ Picker = (*roundRobin)(nil)

func newRoundRobin(groups []group) *roundRobin {
	rr := &roundRobin{groups: make([]rrGroup, len(groups))}
	for gi, g := range groups {
		rg := &rr.groups[gi]
		rg.group = g
		for _, w := range g.weights {
			rg.gcd = gcd(rg.gcd, w)
			rg.max = max(rg.max, w)
		}
	}
	return rr
}

func (rr *roundRobin) Pick(st *State, r *Request) int {
	return pickGroups(rr, len(rr.groups), st, r)
}

func (rr *roundRobin) pickIn(st *State, g int, r *Request, down *Set) int {
	return rr.groups[g].walk(st.cursor(g), r.Tried, down)
}

// walk advances c to the next node of the weighted cycle that is in
// neither set, or returns -1 when no node of the group is.
func (g *rrGroup) walk(c *rrCursor, tried, down *Set) int {
	n := len(g.nodes)
	if !c.started {
		c.started = true
		c.index = rand.IntN(n+1) - 1
	}
	if i := g.pass(c, tried, down); i >= 0 {
		return i
	}
	// A pass visits every node once, so every eligible node is lighter than
	// the levels it was visited at. Walking down level by level to the
	// heaviest eligible node would take up to max/gcd passes (weights 1e9
	// and 1 with the heavy node tried: 1e9 passes); jump to the wrap where
	// the current weight becomes that node's weight instead. The cycle
	// continues exactly as the level-by-level walk would have.
	w := 0
	for k, i := range g.nodes {
		if g.weights[k] > w && eligible(i, tried, down) {
			w = g.weights[k]
		}
	}
	if w == 0 {
		return -1
	}
	c.index, c.current = n-1, w+g.gcd
	return g.pass(c, tried, down)
}

// pass advances c by at most one visit per node, returning the first
// eligible node whose weight reaches the current weight, or -1.
func (g *rrGroup) pass(c *rrCursor, tried, down *Set) int {
	n := len(g.nodes)
	for range n {
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
		if g.weights[c.index] >= c.current {
			if i := g.nodes[c.index]; eligible(i, tried, down) {
				return i
			}
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
