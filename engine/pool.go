package engine

// idlePool holds one loop's idle keep-alive connections to one upstream node:
// an intrusive list, most recently used first, so a burst reuses warm
// connections and the coldest ones age out (nginx's keepalive cache).
// Loop-only.
type idlePool struct {
	head, tail *upConn
	n          int
	node       *loopNode // the node the pool belongs to
}

// put files up as the most recently used; if that makes the pool larger
// than limit, the least recently used connection is returned for closing.
func (p *idlePool) put(up *upConn, limit int) (evict *upConn) {
	up.pprev, up.pnext = nil, p.head
	if p.head != nil {
		p.head.pprev = up
	}
	p.head = up
	if p.tail == nil {
		p.tail = up
	}
	up.pooled = p
	p.n++
	if p.n > limit {
		evict = p.tail
		p.remove(evict)
	}
	return evict
}

// get takes the most recently used connection, or nil.
func (p *idlePool) get() *upConn {
	up := p.head
	if up != nil {
		p.remove(up)
	}
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
