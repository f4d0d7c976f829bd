package trie

// Match returns the value of the first route q matches, in APISIX's order;
// on a parameter route q.Params holds the captures. Safe from any
// goroutine; allocates nothing.
func (r *Router[T]) Match(q *Query) (v T, ok bool) {
	q.Params.n = 0
	if r.mode == HostURI && r.hosts.root != nil {
		if e := matchHost(r.hosts.root, q.HostRev, q); e != nil {
			return e.route.Value, true
		}
	}
	if r.uriOnly.root != nil {
		if e := matchPath(r.uriOnly.root, q.Path, q); e != nil {
			return e.route.Value, true
		}
	}
	return v, false
}

// matchHost descends the reversed-host trie along rev; the node's own label
// is already consumed. The exact host (rev fully consumed) is tried first,
// then wildcard suffixes on the way back up, longest first.
func matchHost[T any](n *rnode[pathIndex[T]], rev []byte, q *Query) *entry[T] {
	if len(rev) == 0 {
		if n.hasExact() {
			if e := matchPath(n.vals.exact.root, q.Path, q); e != nil {
				return e
			}
		}
	} else if c := step(n, rev); c != nil {
		if e := matchHost(c, rev[c.lablen:], q); e != nil {
			return e
		}
	}
	if n.hasPrefix() {
		return matchPath(n.vals.prefix.root, q.Path, q)
	}
	return nil
}

// matchPath descends the path trie along path: the exact bucket where the
// path ends, then prefix buckets from the longest matching key to the
// shortest, as lua-resty-radixtree's hash lookup then radix walk up.
func matchPath[T any](n *rnode[bucket[T]], path []byte, q *Query) *entry[T] {
	if n == nil {
		return nil
	}
	if len(path) == 0 {
		if n.hasExact() {
			if e := n.vals.exact.first(q); e != nil {
				return e
			}
		}
	} else if c := step(n, path); c != nil {
		if e := matchPath(c, path[c.lablen:], q); e != nil {
			return e
		}
	}
	if n.hasPrefix() {
		return n.vals.prefix.first(q)
	}
	return nil
}

// step returns the child whose whole label starts rest, or nil.
//
//gcassert:inline
func step[V any](n *rnode[V], rest []byte) *rnode[V] {
	c := n.child(rest[0])
	if c == nil || len(rest) < int(c.lablen) || string(rest[:c.lablen]) != string(c.labelBytes()) {
		return nil
	}
	return c
}

// first returns the first entry of the bucket whose conditions hold.
func (b bucket[T]) first(q *Query) *entry[T] {
	for i := range b {
		if b[i].matches(q) {
			return &b[i]
		}
	}
	return nil
}

// matches runs a candidate's checks in lua-resty-radixtree's order: method,
// remote address, host, vars, filter_func, then the parameter pattern.
func (e *entry[T]) matches(q *Query) bool {
	if e.methods != 0 && e.methods&q.Method == 0 {
		return false
	}
	if len(e.remotes) > 0 {
		ok := false
		for _, p := range e.remotes {
			if p.Contains(q.RemoteAddr) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(e.hosts) > 0 && !e.hostMatches(q) {
		return false
	}
	if e.vars != nil && !e.vars.Eval(q.Vars) {
		return false
	}
	if e.filter != nil && !e.filter.Match(q) {
		return false
	}
	if e.pattern.set && !e.pattern.match(q.Path, &q.Params) {
		return false
	}
	return true
}

// hostMatches compares the request host with the route's hosts (URI modes):
// exact, "*" for any, "*.suffix" as a suffix match (so "*.foo.com" matches
// "a.b.foo.com" and not "foo.com"). A route host naming a port is compared
// with the Host header as sent, as lua-resty-radixtree does.
func (e *entry[T]) hostMatches(q *Query) bool {
	for i := range e.hosts {
		h := &e.hosts[i]
		host := q.Host
		if h.port {
			host = q.HostHeader
		}
		if !h.wildcard {
			if string(host) == h.host {
				return true
			}
			continue
		}
		if len(host) >= len(h.host) && string(host[len(host)-len(h.host):]) == h.host {
			return true
		}
	}
	return false
}
