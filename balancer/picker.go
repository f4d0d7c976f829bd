package balancer

import (
	"math/rand/v2"
	"time"

	"github.com/sluicegw/sluice/config"
)

// Picker chooses among the nodes of one upstream version. It is built once
// per upstream version (into the snapshot), is immutable afterwards and is
// safe for concurrent use: everything a pick mutates lives in the State the
// calling event loop owns, and in the loop's NodeStats.
type Picker interface {
	// Pick returns the index (into the upstream's nodes, in config order)
	// of the node for the next attempt of a request, or -1 when no node is
	// eligible. A node in r.Tried is never returned. Nodes in r.Down are
	// skipped unless every untried node is down, in which case all untried
	// nodes are eligible again (APISIX: "all upstream nodes is unhealthy,
	// use default"). Among the eligible nodes, only the highest priority
	// group that has one is considered. st is the calling loop's state for
	// this picker. Pick does not allocate (except that a State grows once
	// for an upstream with more than two priority groups).
	Pick(st *State, r *Request) int
}

// Request is what one pick may depend on. The caller owns it and reuses it
// between requests; Pick only reads it.
type Request struct {
	// Key is the consistent-hash key (chash only), already resolved by the
	// caller from the upstream's hash_on and key (vars, header, cookie,
	// consumer, vars_combinations). When that resolves to nothing, the
	// caller passes the client's remote_addr (APISIX's fallback). An empty
	// Key still hashes, to one fixed node. Pick does not keep it.
	Key []byte
	// Tried holds the nodes this request already tried: never picked again.
	// Down holds the nodes health checks took out. Either may be nil
	// (empty).
	Tried *Set
	Down  *Set
	// Stats is the calling loop's live statistics per node, for the
	// pickers that weigh load (least_conn, ewma); nil reads as idle nodes
	// with no latency samples.
	Stats Stats
	// Now is the current time on the Now clock, for ewma's decay; zero
	// means "read the clock" (ewma then calls Now itself). A caller that
	// already has the loop's current time passes it to save a clock read.
	Now int64
}

// Stats gives a picker the calling loop's statistics for node i of the
// upstream being picked from. The engine keeps one NodeStats per node per
// loop and implements this as a view over them; Node must not allocate and
// may return nil (read as an idle node with no samples).
type Stats interface {
	Node(i int) *NodeStats
}

// State is one event loop's mutable state for one Picker: round-robin
// cursors (one per priority group), ewma's random source, least_conn's scan
// offset. The zero value is ready to use; the loop that owns it is its only
// user, so it needs no lock. The engine zeroes it when the upstream is
// replaced (a State must not be shared between two Pickers).
type State struct {
	rr     [2]rrCursor // roundrobin: the cursors of the first two priority groups
	rrMore []rrCursor  // roundrobin: cursors of further groups, grown on first use
	rng    uint64      // ewma: wyrand state; 0 until seeded
	next   uint32      // least_conn: where the next scan starts, so ties rotate
}

// rrCursor is one loop's position in one priority group's weighted cycle.
type rrCursor struct {
	index, current int // position in the walk and current weight
	started        bool
}

// cursor returns the round-robin cursor of priority group g.
func (st *State) cursor(g int) *rrCursor {
	if g < len(st.rr) {
		return &st.rr[g]
	}
	g -= len(st.rr)
	for len(st.rrMore) <= g {
		st.rrMore = append(st.rrMore, rrCursor{})
	}
	return &st.rrMore[g]
}

// New builds the picker for u's nodes with u's balancer. u must be
// normalized (config.Upstream.Normalize); New keeps no reference to it.
//
// An upstream with a single node gets a picker that returns that node until
// it is tried, whatever its weight and balancer, as APISIX's pick_server
// does. Otherwise nodes of weight 0 are never picked, and nodes are split
// into priority groups (apisix/balancer/priority.lua), each with its own
// instance of the balancer.
func New(u *config.Upstream) Picker {
	switch len(u.Nodes) {
	case 0:
		return none{}
	case 1:
		return single{}
	}
	groups := groupsOf(u.Nodes)
	switch u.Balancer {
	case config.CHash:
		return newCHash(u.Nodes, groups)
	case config.EWMA:
		return &ewma{groups: groups}
	case config.LeastConn:
		return newLeastConn(groups)
	default:
		return newRoundRobin(groups)
	}
}

// none is the picker of an upstream without nodes.
type none struct{}

var _ Picker = none{}

func (none) Pick(*State, *Request) int { return -1 }

// single is the picker of a one-node upstream: APISIX bypasses its
// balancer for these (least_conn included here, since the engine, not the
// picker, counts in-flight requests).
type single struct{}

var _ Picker = single{}

func (single) Pick(_ *State, r *Request) int {
	if r.Tried.Has(0) {
		return -1
	}
	return 0
}

// epoch is the origin of the Now clock.
var epoch = time.Now()

// Now returns monotonic nanoseconds since the package was initialized (at
// process start). It is the clock of Request.Now and NodeStats.Responded;
// any goroutine may call it.
func Now() int64 { return int64(time.Since(epoch)) }

// seed is a per-State random seed, drawn once per State (math/rand/v2's
// global source is per-thread and takes no lock).
func seed() uint64 { return rand.Uint64() }
