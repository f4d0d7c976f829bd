package sync

import (
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/trie"
)

var _ reqctx.RouteMatch = (*Route)(nil)

// MatchedOn implements reqctx.RouteMatch: which of the route's paths and
// hosts q matched. It reads the route's config, cold memory in a large
// table, so it is for what reports the match (the prometheus plugin, Lua's
// ctx.curr_req_matched), not for every request.
func (r *Route) MatchedOn(q *trie.Query) (path, host string) {
	c := r.conf
	if c == nil { // a snapshot's fail-closed stand-in
		return "", ""
	}
	hosts := c.Hosts
	if len(hosts) == 0 && r.refs != nil {
		hosts = r.refs.hosts // its service's
	}
	return q.MatchedPath(c.Paths), q.MatchedHost(hosts)
}
