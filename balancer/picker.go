package balancer

import (
	"math/bits"
	"math/rand/v2"

	"github.com/sluicegw/sluice/config"
)

// Picker chooses among the nodes of one upstream version. It is built once
// per upstream version (into the snapshot), is immutable afterwards and is
// safe for concurrent use: everything a pick mutates lives in the State the
// calling event loop owns.
type Picker interface {
	// Pick returns the index of the node for the next attempt of a request,
	// or -1 when no node is eligible. A node in r.Tried is never returned.
	// Nodes in r.Down are skipped unless every untried node is down, in
	// which case all untried nodes are eligible again (APISIX: "all upstream
	// nodes are unhealthy, use default"). st is the calling loop's state for
	// this picker; Pick must not allocate.
	Pick(st *State, r *Request) int
}

// Request is what one pick may depend on. The caller owns it and reuses it
// between requests.
type Request struct {
	// Key is the consistent-hash key (chash), already resolved from the
	// upstream's hash_on and key by the caller; other pickers ignore it.
	Key []byte
	// Tried holds the nodes this request already tried (never picked
	// again); Down holds the nodes health checks took out (nil: none).
	Tried *Set
	Down  *Set
	// Stats is the calling loop's live statistics per node, for the
	// pickers that weigh load (least_conn, ewma); nil reads as idle nodes.
	Stats Stats
}

// Stats gives a picker the calling loop's statistics for node i of the
// upstream being picked from. The engine keeps one NodeStats per node per
// loop and implements this as a view over them; calls must not allocate.
type Stats interface {
	Node(i int) *NodeStats
}

// NodeStats is one event loop's live load on one node. Loop-only: the
// owning loop updates it as requests start and finish.
type NodeStats struct {
	// InFlight is the requests this loop has in flight on the node.
	InFlight int
}

// State is one event loop's mutable state for one Picker (a round-robin
// cursor, a random source). The zero value is ready to use; the loop that
// owns it is its only user, so it needs no lock. The engine resets it when
// the upstream is replaced.
type State struct {
	index, current int // roundrobin: position in the walk and current weight
	started        bool
}

// Set is a set of node indexes. The zero value is empty. The first 128
// indexes are kept inline; larger indexes grow an overflow slice that Reset
// keeps, so a Set reused across requests allocates only while it grows.
type Set struct {
	w    [2]uint64
	more []uint64
}

// Add puts node i in the set.
func (s *Set) Add(i int) {
	if i < 128 {
		s.w[i>>6] |= 1 << (i & 63)
		return
	}
	j := (i - 128) >> 6
	for len(s.more) <= j {
		s.more = append(s.more, 0)
	}
	s.more[j] |= 1 << (i & 63)
}

// Has reports whether node i is in the set. A nil set is empty.
func (s *Set) Has(i int) bool {
	if s == nil {
		return false
	}
	if i < 128 {
		return s.w[i>>6]&(1<<(i&63)) != 0
	}
	j := (i - 128) >> 6
	return j < len(s.more) && s.more[j]&(1<<(i&63)) != 0
}

// Len returns the number of nodes in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	n := bits.OnesCount64(s.w[0]) + bits.OnesCount64(s.w[1])
	for _, w := range s.more {
		n += bits.OnesCount64(w)
	}
	return n
}

// Reset empties the set, keeping its storage.
func (s *Set) Reset() {
	s.w = [2]uint64{}
	for i := range s.more {
		s.more[i] = 0
	}
}

// New builds the picker for u's nodes.
func New(u *config.Upstream) Picker {
	weights := make([]int, len(u.Nodes))
	for i, n := range u.Nodes {
		weights[i] = n.Weight
	}
	return newRoundRobin(weights)
}

// randomStart is where a loop's walk over n nodes begins, so loops (and
// gateways) do not move in step.
func randomStart(n int) int { return rand.IntN(n+1) - 1 }
