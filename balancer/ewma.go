package balancer

import "math/bits"

// ewma is APISIX's ewma balancer (apisix/balancer/ewma.lua): power of two
// choices. Two distinct eligible nodes are drawn at random and the one with
// the lower latency estimate (NodeStats.Latency: the peak EWMA decayed for
// the time since its last sample) wins; on a tie, the first drawn. Weights
// only decide membership (weight 0: never picked), as in APISIX.
//
// Each loop measures latency on its own (APISIX shares one estimate per
// node across workers through a shared dict under a lock); the random
// source is the loop's own, in State.
type ewma struct {
	groups []group
}

var _ Picker = (*ewma)(nil)

func (e *ewma) Pick(st *State, r *Request) int {
	return pickGroups(e, len(e.groups), st, r)
}

func (e *ewma) pickIn(st *State, g int, r *Request, down *Set) int {
	nodes := e.groups[g].nodes
	a := drawEligible(st, nodes, r.Tried, down, -1)
	if a < 0 {
		return -1
	}
	b := drawEligible(st, nodes, r.Tried, down, a)
	if b < 0 || r.Stats == nil {
		return a
	}
	now := r.Now
	if now == 0 {
		now = Now()
	}
	if latency(r.Stats, b, now) < latency(r.Stats, a, now) {
		return b
	}
	return a
}

func latency(s Stats, i int, now int64) float64 {
	if ns := s.Node(i); ns != nil {
		return ns.decayed(now)
	}
	return 0
}

// drawTries is how many uniform draws drawEligible makes before counting:
// with most nodes eligible (the common case) one or two draws succeed.
const drawTries = 4

// drawEligible returns a node drawn uniformly from the eligible nodes
// other than not, or -1 when there is none.
func drawEligible(st *State, nodes []int, tried, down *Set, not int) int {
	n := len(nodes)
	for range drawTries {
		if i := nodes[st.intN(n)]; i != not && eligible(i, tried, down) {
			return i
		}
	}
	// Few eligible nodes: draw among them by counting. Rejection and
	// counting are each uniform over the eligible nodes, so the mix is too.
	c := 0
	for _, i := range nodes {
		if i != not && eligible(i, tried, down) {
			c++
		}
	}
	if c == 0 {
		return -1
	}
	k := st.intN(c)
	for _, i := range nodes {
		if i != not && eligible(i, tried, down) {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return -1
}

// intN returns a pseudo-random int in [0, n) from st's own source
// (wyrand, seeded once per State), n > 0.
func (st *State) intN(n int) int {
	if st.rng == 0 {
		st.rng = seed()
	}
	st.rng += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(st.rng, st.rng^0xe7037ed1a0b428db)
	hi, _ = bits.Mul64(hi^lo, uint64(n))
	return int(hi)
}
