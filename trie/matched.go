package trie

import (
	"strings"

	"github.com/sluicegw/sluice/internal/bytestr"
)

// MatchedPath returns which of the paths of the route q matched the
// request path matched, as APISIX reports it (ctx.curr_req_matched._path): the path as
// written. The router does not keep it per entry (a string per entry is 16
// bytes on every one of a million, for a figure only the prometheus
// plugin and Lua read), so it is worked out again from the route's paths
// when asked: an exact path first, as lua-resty-radixtree's hash table
// answers before its tree, then the matching path with the longest fixed
// part, and of those the longest as written (its sort_route). It returns "" when none matches (a route matched on a path it no
// longer has cannot be asked about).
func (q *Query) MatchedPath(paths []string) string {
	if len(paths) == 1 {
		return paths[0]
	}
	best, bestLen := "", -1
	path := bytestr.String(q.Path)         // a view: comparisons allocate nothing
	longer := func(k key, p string) bool { // the tree's order: longer key, then longer path as written
		return len(k.path) > bestLen || len(k.path) == bestLen && len(p) > len(best)
	}
	for _, p := range paths {
		k, err := pathKey(p, q.mode)
		if err != nil {
			continue
		}
		if k.pathOp == slotExact {
			if path == k.path {
				return p
			}
			continue
		}
		if !strings.HasPrefix(path, k.path) || !longer(k, p) {
			continue
		}
		if k.pattern.set {
			var ps Params
			if !k.pattern.match(q.Path, &ps) {
				continue
			}
		}
		best, bestLen = p, len(k.path)
	}
	return best
}

// MatchedHost returns which of the hosts of the route q matched the
// request matched, as APISIX reports it (ctx.curr_req_matched._host): the
// host as written, e.g. "*.foo.com". An exact host wins over a wildcard,
// and a longer wildcard over a shorter one, as in the reversed-host trie;
// a route host naming a port is compared with the Host header. "" when the
// route has no hosts.
func (q *Query) MatchedHost(hosts []string) string {
	best, bestLen := "", -1
	for _, h := range hosts {
		against := bytestr.String(q.Host) // views: comparisons allocate nothing
		if strings.Contains(h, ":") {
			against = bytestr.String(q.HostHeader)
		}
		if !strings.HasPrefix(h, "*") {
			if against == h {
				return h
			}
			continue
		}
		suffix := h[1:]
		if len(suffix) > bestLen && strings.HasSuffix(against, suffix) {
			best, bestLen = h, len(suffix)
		}
	}
	return best
}
