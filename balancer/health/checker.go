package health

import (
	"strconv"
	"sync/atomic"

	"github.com/sluicegw/sluice/balancer"
)

// Outcome is what one attempt at a node came to: an HTTP status, or a
// failure before any status arrived.
type Outcome int

// Failures; any Outcome >= 0 is an HTTP status (HTTPStatus).
const (
	// TCPFailure: the attempt failed below HTTP: connect refused or
	// reset, TLS handshake failed, the connection closed or broke before a
	// complete response head, or the head was malformed.
	TCPFailure Outcome = -1
	// Timeout: connecting, sending the request or waiting for the
	// response head timed out.
	Timeout Outcome = -2

	// probeOK is a tcp probe that connected (active checks only).
	probeOK Outcome = -3
)

// HTTPStatus is the outcome of an attempt that received a response head
// with status code.
func HTTPStatus(code int) Outcome { return Outcome(code) }

func (o Outcome) String() string {
	switch o {
	case TCPFailure:
		return "tcp_failure"
	case Timeout:
		return "timeout"
	case probeOK:
		return "connected"
	}
	return strconv.Itoa(int(o))
}

// Checker is the health of one compiled upstream version's nodes. It is
// shared by every compiled version whose checks and nodes are the same,
// and its targets' counters by every version of the same owner whose
// checks are the same (a node-only change keeps the surviving nodes'
// state). Down and Report are safe from any goroutine, take no lock and do
// not allocate. A nil *Checker is valid: all nodes healthy, reports
// dropped.
type Checker struct {
	g       *group
	nodes   []string  // the node addresses Acquire was given; immutable
	targets []*target // target of each node; immutable
	unique  []*target // distinct targets in node order (the status view)
	key     string    // identity within the group: the targets' keys

	// down is the set of node indexes currently down; nil when none.
	// Written under group.mu, read lock-free.
	down atomic.Pointer[balancer.Set]

	refs     int // Manager.mu
	released bool
}

// Down returns the nodes currently unhealthy, as indexes into the node
// list Acquire was given; nil when every node is healthy. The set is
// immutable: hold it for a whole request (pass it as balancer.Request.Down)
// and load it again for the next. Safe from any goroutine; one atomic load.
func (c *Checker) Down() *balancer.Set {
	if c == nil {
		return nil
	}
	return c.down.Load()
}

// Report counts the outcome of one attempt at node (an index into the node
// list Acquire was given) against the passive thresholds. TCPFailure and
// Timeout always count; HTTP statuses count only when checks.passive is
// configured, as in APISIX. A report that moves the node across a threshold
// wakes the checker's goroutine, which publishes the new Down set
// (microseconds later, never on the caller). Safe from any goroutine,
// lock-free, allocation-free; reports to a released checker are harmless.
func (c *Checker) Report(node int, o Outcome) {
	if c == nil || uint(node) >= uint(len(c.targets)) {
		return
	}
	t := c.targets[node]
	ck := c.g.checks
	p := &ck.Passive
	var changed bool
	switch {
	case o == TCPFailure:
		changed = t.count(ctrTCP, p.Unhealthy.TCPFailures)
	case o == Timeout:
		changed = t.count(ctrTimeout, p.Unhealthy.Timeouts)
	case o < 0 || !ck.PassiveSet:
		return
	case p.Healthy.Statuses.Has(int(o)):
		changed = t.count(ctrSuccess, p.Healthy.Successes)
	case p.Unhealthy.Statuses.Has(int(o)):
		changed = t.count(ctrHTTP, p.Unhealthy.HTTPFailures)
	}
	if changed {
		c.g.wake()
	}
}

// Owner returns the owner Acquire was given ("upstreams/1").
func (c *Checker) Owner() string { return c.g.owner }

// publishLocked recomputes the Down set from the targets' states and
// stores it if it changed, reporting whether it did. Caller holds c.g.mu,
// which makes this the only writer of c.down.
func (c *Checker) publishLocked() bool {
	var s *balancer.Set
	for i, t := range c.targets {
		if t.state().Down() {
			if s == nil {
				s = new(balancer.Set)
			}
			s.Add(i)
		}
	}
	old := c.down.Load()
	if sameSet(old, s, len(c.targets)) {
		return false
	}
	c.down.Store(s)
	return true
}

func sameSet(a, b *balancer.Set, n int) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := range n {
		if a.Has(i) != b.Has(i) {
			return false
		}
	}
	return true
}

// downList returns the indexes in the current Down set.
func (c *Checker) downList() []int {
	s := c.down.Load()
	var out []int
	for i := range c.targets {
		if s.Has(i) {
			out = append(out, i)
		}
	}
	return out
}
