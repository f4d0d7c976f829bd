package balancer

import (
	"slices"

	"github.com/sluicegw/sluice/config"
)

// group is one priority group: the nodes of an upstream that share a
// priority and have a weight above zero.
type group struct {
	nodes   []int // upstream node indexes, in config order
	weights []int // their weights, all > 0
}

// groupsOf splits nodes into priority groups, highest priority first
// (apisix/balancer/priority.lua sorts its priority index descending).
// Nodes of weight 0 are left out; groups left empty are dropped.
func groupsOf(nodes config.Nodes) []group {
	var prios []int
	for _, n := range nodes {
		if n.Weight > 0 && !slices.Contains(prios, n.Priority) {
			prios = append(prios, n.Priority)
		}
	}
	slices.SortFunc(prios, func(a, b int) int { return b - a })
	groups := make([]group, len(prios))
	for gi, p := range prios {
		g := &groups[gi]
		for i, n := range nodes {
			if n.Weight > 0 && n.Priority == p {
				g.nodes = append(g.nodes, i)
				g.weights = append(g.weights, n.Weight)
			}
		}
	}
	return groups
}

// grouped is a balancer that picks within one priority group at a time.
type grouped interface {
	// pickIn picks among group g's nodes that are neither in r.Tried nor
	// in down, or returns -1.
	pickIn(st *State, g int, r *Request, down *Set) int
}

// pickGroups is the priority walk shared by the balancers: the highest
// group with an untried node that is up wins; when no untried node is up
// in any group, the same walk runs again ignoring r.Down. That matches
// APISIX, which filters unhealthy nodes out before splitting nodes by
// priority, and uses every node when all of them are unhealthy.
func pickGroups(p grouped, groups int, st *State, r *Request) int {
	for g := range groups {
		if i := p.pickIn(st, g, r, r.Down); i >= 0 {
			return i
		}
	}
	if r.Down.Len() == 0 {
		return -1
	}
	for g := range groups {
		if i := p.pickIn(st, g, r, nil); i >= 0 {
			return i
		}
	}
	return -1
}

// eligible reports whether node i may be picked: not tried, not down.
func eligible(i int, tried, down *Set) bool { return !tried.Has(i) && !down.Has(i) }
