package trie

import (
	"bytes"
	"hash/maphash"
)

// Match returns the value of the first route q matches, in APISIX's order;
// on a parameter route q.Params holds the captures. Safe from any
// goroutine; allocates nothing.
func (r *Router[T]) Match(q *Query) (v T, ok bool) {
	q.Params.n, q.mode = 0, r.mode
	var hp pathHash
	if r.mode == HostURI && r.hosts.root != nil {
		if e := r.matchHost(r.hosts.root, q.HostRev, q, &hp); e != nil {
			return e.value, true
		}
	}
	if e := r.matchIndex(&r.uriOnly, q, &hp); e != nil {
		return e.value, true
	}
	return v, false
}

// pathHash is the request path's hash, computed the first time an index
// with exact paths needs it.
type pathHash struct {
	h    uint64
	done bool
}

func (p *pathHash) get(seed maphash.Seed, path []byte) uint64 {
	if !p.done {
		p.h, p.done = hashPath(seed, path), true
	}
	return p.h
}

// matchHost descends the reversed-host trie along rev; the node's own label
// is already consumed. The exact host (rev fully consumed) is tried first,
// then wildcard suffixes on the way back up, longest first.
func (r *Router[T]) matchHost(n *rnode[hostIndexes[T]], rev []byte, q *Query, hp *pathHash) *entry[T] {
	if len(rev) == 0 {
		if n.vals != nil {
			if e := r.matchIndex(&n.vals.exact, q, hp); e != nil {
				return e
			}
		}
	} else if c := step(n, rev); c != nil {
		if e := r.matchHost(c, rev[c.lablen:], q, hp); e != nil {
			return e
		}
	}
	if n.vals != nil {
		return r.matchIndex(&n.vals.wild, q, hp)
	}
	return nil
}

// matchIndex tries one path index: the exact path by hash, then prefix
// keys from the longest to the shortest, as lua-resty-radixtree's hash
// lookup then radix walk up. Prefix keys ending in '/' are looked up by
// hash at the path's slashes (only at slash counts some key has); the
// others, in the index's trie, are merged in by length.
func (r *Router[T]) matchIndex(ix *pathIndex[T], q *Query, hp *pathHash) *entry[T] {
	if ix.exacts > 0 {
		hid := hashID(ix.id, classExact)
		if rec := r.exact.find(hp.get(r.seed, q.Path)^mixID(hid), hid, q.Path); rec != nil {
			if e := rec.b.match(q); e != nil {
				return e
			}
		}
	}
	if ix.slashed == 0 {
		if ix.prefix.root != nil {
			return matchPrefix(ix.prefix.root, q.Path, q)
		}
		return nil
	}
	sc := slashScan{pos: len(q.Path), n: bytes.Count(q.Path, slash)}
	if ix.prefix.root != nil {
		if e := r.matchMixed(ix, ix.prefix.root, 0, q, &sc); e != nil {
			return e
		}
	}
	return r.probeSlashed(ix, q, &sc, 0)
}

var slash = []byte("/")

// slashScan is where probeSlashed is in a path, scanning back: the
// prefixes left to try are those of length at most pos, and n is the
// number of slashes in path[:pos].
type slashScan struct {
	pos, n int
}

// probeSlashed tries the index's slashed prefix keys that the path has,
// longer than floor, longest first, resuming sc.
func (r *Router[T]) probeSlashed(ix *pathIndex[T], q *Query, sc *slashScan, floor int) *entry[T] {
	p := q.Path
	hid := hashID(ix.id, classSlashed)
	for {
		i := bytes.LastIndexByte(p[:sc.pos], '/')
		if i < floor { // the key p[:i+1] is no longer than floor (or none is left)
			return nil
		}
		n := sc.n
		sc.pos, sc.n = i, n-1
		if ix.segMask&segBit(n) == 0 {
			continue
		}
		k := p[:i+1]
		if rec := r.exact.find(hashPath(r.seed, k)^mixID(hid), hid, k); rec != nil {
			if e := rec.b.match(q); e != nil {
				return e
			}
		}
	}
}

// matchMixed is matchPrefix for an index that also has slashed keys: on
// the way back up, the slashed keys longer than a trie key are tried
// before it. depth is the length of n's key.
func (r *Router[T]) matchMixed(ix *pathIndex[T], n *rnode[bucket[T]], depth int, q *Query, sc *slashScan) *entry[T] {
	if rest := q.Path[depth:]; len(rest) > 0 {
		if c := step(n, rest); c != nil {
			if e := r.matchMixed(ix, c, depth+int(c.lablen), q, sc); e != nil {
				return e
			}
		}
	}
	if n.vals == nil {
		return nil
	}
	// No slashed key has n's length: it would be n's key, which does not
	// end in '/'.
	if e := r.probeSlashed(ix, q, sc, depth); e != nil {
		return e
	}
	return n.vals.match(q)
}

// matchPrefix descends the prefix trie along path (n's label consumed) and
// tries the buckets it passes on the way back up, longest key first.
func matchPrefix[T any](n *rnode[bucket[T]], path []byte, q *Query) *entry[T] {
	if len(path) > 0 {
		if c := step(n, path); c != nil {
			if e := matchPrefix(c, path[c.lablen:], q); e != nil {
				return e
			}
		}
	}
	if n.vals != nil {
		return n.vals.match(q)
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

// match returns the first entry of the bucket whose conditions hold.
func (b *bucket[T]) match(q *Query) *entry[T] {
	if b.first.matches(q) {
		return &b.first
	}
	if b.rest == nil {
		return nil
	}
	rest := *b.rest
	for i := range rest {
		if rest[i].matches(q) {
			return &rest[i]
		}
	}
	return nil
}

// matches runs a candidate's checks in lua-resty-radixtree's order: method,
// remote address, host, vars, filter_func (conds.matches), then the
// parameter pattern.
//
//gcassert:inline
func (e *entry[T]) matches(q *Query) bool {
	if e.methods != 0 && e.methods&q.Method == 0 {
		return false
	}
	if e.more != nil && !e.more.matches(q) {
		return false
	}
	return e.pat == nil || e.pat.match(q.Path, &q.Params)
}

// matches runs the conditions between method and parameters, in
// lua-resty-radixtree's order: remote address, host, vars, filter_func.
func (e *conds) matches(q *Query) bool {
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
	return true
}

// hostMatches compares the request host with the route's hosts (URI modes):
// exact, "*" for any, "*.suffix" as a suffix match (so "*.foo.com" matches
// "a.b.foo.com" and not "foo.com"). A route host naming a port is compared
// with the Host header as sent, as lua-resty-radixtree does.
func (e *conds) hostMatches(q *Query) bool {
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
