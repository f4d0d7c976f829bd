package trie

import (
	"net/netip"
	"sort"
	"strings"
)

// Query is what a request is matched on. The engine fills one per request
// from the parsed head; nothing in it is retained by the router.
type Query struct {
	Path       []byte     // normalised path, no query string
	Host       []byte     // lower-cased host name without port
	Method     uint16     // the request method's bit (config.MethodSet layout)
	RemoteAddr netip.Addr // client address
}

// Route is one routable entry: where it matches and the value it leads to.
type Route[T any] struct {
	ID          string         // unique key
	Paths       []string       // "/exact" or "/prefix*"
	Hosts       []string       // lower-cased; "*.suffix" wildcards; empty: any host
	Methods     uint16         // zero: any method
	RemoteAddrs []netip.Prefix // empty: any address
	Priority    int            // higher first among routes sharing a stored path
	Value       T
}

// Router matches queries against a fixed set of routes.
type Router[T any] struct {
	exact    map[string][]*entry[T] // path → candidates, in match order
	prefixes []prefixBucket[T]      // longest prefix first
}

type entry[T any] struct {
	route *Route[T]
	seq   int // load order: ties keep it
}

type prefixBucket[T any] struct {
	prefix     string
	candidates []*entry[T]
}

// New builds a router over routes; their order is the load order that breaks
// priority ties.
func New[T any](routes []Route[T]) *Router[T] {
	r := &Router[T]{exact: make(map[string][]*entry[T])}
	byPrefix := make(map[string][]*entry[T])
	for i := range routes {
		e := &entry[T]{route: &routes[i], seq: i}
		for _, p := range routes[i].Paths {
			if strings.HasSuffix(p, "*") {
				byPrefix[p[:len(p)-1]] = append(byPrefix[p[:len(p)-1]], e)
			} else {
				r.exact[p] = append(r.exact[p], e)
			}
		}
	}
	for _, c := range r.exact {
		sortCandidates(c)
	}
	for p, c := range byPrefix {
		sortCandidates(c)
		r.prefixes = append(r.prefixes, prefixBucket[T]{prefix: p, candidates: c})
	}
	sort.Slice(r.prefixes, func(i, j int) bool { return len(r.prefixes[i].prefix) > len(r.prefixes[j].prefix) })
	return r
}

func sortCandidates[T any](c []*entry[T]) {
	sort.SliceStable(c, func(i, j int) bool {
		if c[i].route.Priority != c[j].route.Priority {
			return c[i].route.Priority > c[j].route.Priority
		}
		return c[i].seq < c[j].seq
	})
}

// Match returns the value of the first route that matches q.
func (r *Router[T]) Match(q *Query) (v T, ok bool) {
	if c, found := r.exact[string(q.Path)]; found {
		if e := firstPassing(c, q); e != nil {
			return e.route.Value, true
		}
	}
	for i := range r.prefixes {
		b := &r.prefixes[i]
		if len(q.Path) >= len(b.prefix) && string(q.Path[:len(b.prefix)]) == b.prefix {
			if e := firstPassing(b.candidates, q); e != nil {
				return e.route.Value, true
			}
		}
	}
	return v, false
}

func firstPassing[T any](candidates []*entry[T], q *Query) *entry[T] {
	for _, e := range candidates {
		if e.route.matches(q) {
			return e
		}
	}
	return nil
}

// matches runs the per-candidate checks in APISIX's order: method, remote
// address, host.
func (rt *Route[T]) matches(q *Query) bool {
	if rt.Methods != 0 && rt.Methods&q.Method == 0 {
		return false
	}
	if len(rt.RemoteAddrs) > 0 {
		ok := false
		for _, p := range rt.RemoteAddrs {
			if p.Contains(q.RemoteAddr) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(rt.Hosts) > 0 {
		ok := false
		for _, h := range rt.Hosts {
			if hostMatches(h, q.Host) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// hostMatches compares a route host with a request host: exact, "*" for
// any, or "*.suffix" matching any host ending in ".suffix" (APISIX: a suffix
// match, so "*.foo.com" matches "a.b.foo.com" but not "foo.com").
func hostMatches(pattern string, host []byte) bool {
	if pattern == "*" {
		return true
	}
	if strings.HasPrefix(pattern, "*") {
		suffix := pattern[1:]
		return len(host) >= len(suffix) && string(host[len(host)-len(suffix):]) == suffix
	}
	return pattern == string(host)
}
