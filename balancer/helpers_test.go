package balancer

import (
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/sluicegw/sluice/config"
)

// nodesOf returns nodes 10.0.0.<i+1>:80 with the given weights, priority 0.
func nodesOf(weights ...int) config.Nodes {
	ns := make(config.Nodes, len(weights))
	for i, w := range weights {
		ns[i] = config.Node{Host: "10.0.0." + strconv.Itoa(i+1), Port: 80, Weight: w}
	}
	return ns
}

func upstreamOf(b config.Balancer, nodes config.Nodes) *config.Upstream {
	return &config.Upstream{Balancer: b, Nodes: nodes}
}

// pickerOf builds a picker of kind b over nodes with the given weights.
func pickerOf(b config.Balancer, weights ...int) Picker {
	return New(upstreamOf(b, nodesOf(weights...)))
}

// statsOf is a loop's NodeStats, one per node, as the engine keeps them.
type statsOf []NodeStats

func (s statsOf) Node(i int) *NodeStats { return &s[i] }

// counts picks picks times on one State and counts the picks per node.
func counts(p Picker, nodes, picks int, r *Request) []int {
	c := make([]int, nodes)
	var st State
	for range picks {
		if n := p.Pick(&st, r); n >= 0 {
			c[n]++
		}
	}
	return c
}

func setOf(nodes ...int) *Set {
	var s Set
	for _, i := range nodes {
		s.Add(i)
	}
	return &s
}

var balancers = []config.Balancer{config.RoundRobin, config.CHash, config.EWMA, config.LeastConn}

func hashOf(key []byte) uint64 { return xxhash.Sum64(key) }
