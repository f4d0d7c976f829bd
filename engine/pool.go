package engine

// idlePool holds one loop's idle keep-alive connections to one upstream node:
// an intrusive list, most recently used first, so a burst reuses warm
// connections and the coldest ones age out (nginx's keepalive cache).
// Loop-only.
//
// How the keepalive_pool size is enforced (issue 12): nginx closes the
// least recently used idle connection the moment the cache overflows. Under
// thousands of clients the number of idle connections swings above and
// below the cap within milliseconds, so that policy closes connections the
// next few milliseconds of demand dial again (about half of a loop's time
// at 4,000 clients went to connect and close). sluice lets a pool run over
// its size for Options.KeepaliveSurplusGrace: the loop's tick closes, least
// recently used first, only the surplus connections that stayed idle that
// long. The idle count is thereby bounded by the peak concurrency of the
// last grace period (plus the size), not by the instantaneous one; a hard
// cap (Options.KeepaliveHardCap) bounds it even against a burst.
type idlePool struct {
	head, tail *upConn
	n          int
	limit      int       // the size the pool was last filed under (keepalive_pool.size)
	node       *loopNode // the node the pool belongs to
}

// put files up as the most recently used, idle since tick now.
func (p *idlePool) put(up *upConn, now int64) {
	up.pprev, up.pnext = nil, p.head
	if p.head != nil {
		p.head.pprev = up
	}
	p.head = up
	if p.tail == nil {
		p.tail = up
	}
	up.pooled = p
	up.idleSince = now
	p.n++
}

// get takes the most recently used connection, or nil.
func (p *idlePool) get() *upConn {
	up := p.head
	if up != nil {
		p.remove(up)
	}
	return up
}

// surplus returns the least recently used connection if the pool is over
// its size and that connection has been idle since tick before or earlier,
// or nil.
func (p *idlePool) surplus(before int64) *upConn {
	if p.n <= p.limit || p.tail == nil || p.tail.idleSince > before {
		return nil
	}
	up := p.tail
	p.remove(up)
	return up
}

// remove unlinks up, which must be in p.
func (p *idlePool) remove(up *upConn) {
	if up.pprev != nil {
		up.pprev.pnext = up.pnext
	} else {
		p.head = up.pnext
	}
	if up.pnext != nil {
		up.pnext.pprev = up.pprev
	} else {
		p.tail = up.pprev
	}
	up.pprev, up.pnext, up.pooled = nil, nil, nil
	p.n--
}

// take takes the most recently used connection that can carry a request
// for TLS server name sni: any plain connection, or a TLS one made for sni.
func (p *idlePool) take(sni []byte) *upConn {
	for up := p.head; up != nil; up = up.pnext {
		if up.tls == nil || up.tls.sni == string(sni) {
			p.remove(up)
			return up
		}
	}
	return nil
}
