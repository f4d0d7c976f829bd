package balancer

import (
	"math/bits"
	"slices"
)

// leastConn is APISIX's least_conn (apisix/balancer/least_conn.lua): the
// eligible node with the lowest (1 + in-flight) / weight wins. In-flight
// counts are the calling loop's (NodeStats.InFlight; APISIX counts per
// worker), maintained by the engine whatever the balancer, so they survive
// upstream changes as APISIX's #12217 fix makes them. Ties go to the first
// node in a scan whose start rotates with every pick, so equally loaded
// nodes share the traffic.
//
// Picking scans the group, O(nodes): there is no heap to keep in step with
// NodeStats changes made outside the picker. The scan stops at an idle node
// of the group's highest weight, which no node can beat; per-loop counts are
// small, so under light load that comes early.
type leastConn struct {
	groups []lcGroup
}

type lcGroup struct {
	group
	max int // the highest weight
}

func newLeastConn(groups []group) *leastConn {
	lc := &leastConn{groups: make([]lcGroup, len(groups))}
	for gi, g := range groups {
		lc.groups[gi] = lcGroup{group: g, max: slices.Max(g.weights)}
	}
	return lc
}

var _ Picker = (*leastConn)(nil)

func (lc *leastConn) Pick(st *State, r *Request) int {
	return pickGroups(lc, len(lc.groups), st, r)
}

func (lc *leastConn) pickIn(st *State, g int, r *Request, down *Set) int {
	gr := &lc.groups[g]
	nodes, weights := gr.nodes, gr.weights
	n := len(nodes)
	j := int(st.next % uint32(n))
	st.next++
	best, bestLoad, bestWeight := -1, uint64(0), uint64(0)
	for range n {
		if i := nodes[j]; eligible(i, r.Tried, down) {
			load, w := 1+inFlight(r.Stats, i), uint64(weights[j])
			if best < 0 || lighter(load, w, bestLoad, bestWeight) {
				best, bestLoad, bestWeight = i, load, w
				if load == 1 && weights[j] == gr.max {
					break // the lowest score there is; later ties would lose anyway
				}
			}
		}
		if j++; j == n {
			j = 0
		}
	}
	return best
}

func inFlight(s Stats, i int) uint64 {
	if s != nil {
		if ns := s.Node(i); ns != nil && ns.InFlight > 0 {
			return uint64(ns.InFlight)
		}
	}
	return 0
}

// lighter reports whether load a on weight wa scores below load b on
// weight wb: a/wa < b/wb, compared exactly as a·wb < b·wa in 128 bits.
func lighter(a, wa, b, wb uint64) bool {
	h1, l1 := bits.Mul64(a, wb)
	h2, l2 := bits.Mul64(b, wa)
	return h1 < h2 || h1 == h2 && l1 < l2
}
