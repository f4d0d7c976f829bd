package engine

import (
	"time"

	"github.com/sluicegw/sluice/balancer"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// loopNode is one loop's state for one upstream node (an address): its
// idle keepalive connections and its load. It is keyed by the node's Ref and
// survives snapshot swaps while the configuration lists the address.
// Loop-only.
type loopNode struct {
	ref       cfgsync.Ref
	pool      idlePool
	stats     balancer.NodeStats
	inSurplus bool // listed in the loop's surplus list
}

// loopUpstream is one loop's state for one compiled upstream: the balancer
// cursor and the upstream's keepalive settings resolved against the
// engine's defaults once, not per request. Loop-only.
type loopUpstream struct {
	ref  cfgsync.Ref
	pick balancer.State
	keep keepalive
}

// keepalive is an upstream's keepalive_pool with defaults applied.
type keepalive struct {
	size     int           // idle connections kept per node; negative: none
	idle     time.Duration // idle lifetime
	requests int           // exchanges per connection
}

// node returns the loop's state for ref, creating or resetting it when ref
// is the slot's newest owner. It returns nil for a stale ref: the slot
// belongs to a newer node now, and a request still carrying the old one (it
// started on an older snapshot) must not touch the new node's state.
func (l *loop) node(ref cfgsync.Ref) *loopNode {
	for int(ref.Slot) >= len(l.nodes) {
		l.nodes = append(l.nodes, nil)
	}
	n := l.nodes[ref.Slot]
	switch {
	case n == nil:
		n = &loopNode{ref: ref}
		n.pool.node = n
		l.nodes[ref.Slot] = n
	case n.ref == ref:
	case ref.Newer(n.ref):
		l.resetNode(n)
		n.ref = ref
	default:
		return nil
	}
	return n
}

// resetNode closes a node's idle connections and clears its statistics:
// the node left the configuration (or its slot changed hands).
func (l *loop) resetNode(n *loopNode) {
	for up := n.pool.get(); up != nil; up = n.pool.get() {
		l.closeUp(up)
	}
	n.stats = balancer.NodeStats{}
}

// overSize records that n's pool was filed under size and, when it is over
// it, lists n for the tick's trim (pool.go says why the cap is not
// enforced at once). Past the hard cap the least recently used connection
// closes now.
func (l *loop) overSize(n *loopNode, size int) {
	p := &n.pool
	p.limit = size
	if p.n <= size {
		return
	}
	if p.n > max(size, l.s.opts.KeepaliveHardCap) {
		if up := p.tail; up != nil {
			p.remove(up)
			l.closeUp(up)
		}
	}
	if !n.inSurplus {
		n.inSurplus = true
		l.surplus = append(l.surplus, n)
	}
}

// trimSurplus runs on the tick: pools over their size lose the least
// recently used connections that have been idle for the surplus grace.
func (l *loop) trimSurplus() {
	before := l.tick - l.ticks(l.s.opts.KeepaliveSurplusGrace)
	kept := l.surplus[:0]
	for _, n := range l.surplus {
		for up := n.pool.surplus(before); up != nil; up = n.pool.surplus(before) {
			l.closeUp(up)
		}
		if n.pool.n > n.pool.limit {
			kept = append(kept, n)
		} else {
			n.inSurplus = false
		}
	}
	clear(l.surplus[len(kept):])
	l.surplus = kept
}

// sweepRetired closes idle connections to nodes the configuration dropped
// since the last tick, so their sockets close now rather than at their idle
// timeout.
func (l *loop) sweepRetired() {
	snap := l.s.store.Load()
	l.retired, l.retiredSeq = snap.RetiredNodes(l.retiredSeq, l.retired[:0])
	for _, ref := range l.retired {
		if int(ref.Slot) < len(l.nodes) {
			if n := l.nodes[ref.Slot]; n != nil && n.ref == ref {
				l.resetNode(n)
			}
		}
	}
}

// upstream returns the loop's state for a compiled upstream. An upstream
// from an older snapshot whose slot was reused gets a scratch state: its
// picks still work, on a cursor of their own.
func (l *loop) upstream(u *cfgsync.Upstream) *loopUpstream {
	ref := u.Ref
	for int(ref.Slot) >= len(l.ups) {
		l.ups = append(l.ups, nil)
	}
	s := l.ups[ref.Slot]
	switch {
	case s == nil:
		s = &loopUpstream{}
		l.ups[ref.Slot] = s
	case s.ref == ref:
		return s
	case !ref.Newer(s.ref):
		s = &l.staleUp
	}
	*s = loopUpstream{ref: ref, keep: l.keepaliveOf(u)}
	return s
}

func (l *loop) keepaliveOf(u *cfgsync.Upstream) keepalive {
	o := &l.s.opts
	k := keepalive{size: o.KeepalivePoolSize, idle: o.KeepaliveIdle, requests: o.KeepaliveRequests}
	if kp := u.Conf.KeepalivePool; kp != nil {
		if kp.Size > 0 {
			k.size = kp.Size
		}
		if kp.IdleTimeout > 0 {
			k.idle = kp.IdleTimeout.Duration()
		}
		if kp.Requests > 0 {
			k.requests = kp.Requests
		}
	}
	return k
}
