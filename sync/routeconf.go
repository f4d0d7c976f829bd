package sync

import (
	"iter"
	"net/netip"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/httpmethod"
)

// routeConf is what the builder keeps of a decoded route between changes:
// the fields compileRoute reads, sharing their strings and slices with the
// decoded config.Route, which is dropped. A config.Route is 528 bytes plus
// what only the Admin API reads (desc, labels, methods as names, create and
// update times); at 1M routes keeping it was a third of the heap (issue
// 13). The route as stored stays in its Item.
type routeConf struct {
	// Ids as strings: config.ID's Number flag (how the id was written)
	// is only for the Admin API's answers, and at 1M routes its four
	// copies were 32 bytes a route (issue 13). Empty: none.
	ID, ServiceID, PluginConfigID, UpstreamID string

	Name      string
	Paths     []string // uri or uris
	Hosts     []string // host or hosts, lower-cased
	Priority  int
	MethodSet httpmethod.Set
	Plugins   config.Plugins
	Upstream  *config.Upstream
	// seq is the route's load order (trie.Route.Seq): its item's
	// CreateRev, set when it is stored.
	seq int64

	// What few routes have sits behind one pointer (its fields promoted):
	// a route without any shares noRare, so routeConf stays in the
	// 176-byte size class.
	*routeRare
}

type routeRare struct {
	Status      *int
	RemoteAddrs []netip.Prefix // remote_addr or remote_addrs
	VarsExpr    *expr.Expr
	FilterFunc  string
	Timeout     *config.Timeout
}

// noRare is the routeRare of every route without any; never modified.
var noRare = &routeRare{}

var _ config.Object = (*routeConf)(nil)

// slim returns what the builder keeps of a decoded object: a route's
// routeConf (as soon as it is decoded, so a load does not hold a million
// config.Routes until it applies them), anything else as it is.
func slim(obj config.Object) config.Object {
	if rc, ok := obj.(*config.Route); ok {
		return newRouteConf(rc)
	}
	return obj
}

func newRouteConf(rc *config.Route) *routeConf {
	c := &routeConf{
		ID: rc.ID.S, ServiceID: rc.ServiceID.S, PluginConfigID: rc.PluginConfigID.S, UpstreamID: rc.UpstreamID.S,
		Name: rc.Name, Paths: rc.Paths, Hosts: rc.Hosts, MethodSet: rc.MethodSet, Priority: rc.Priority,
		Plugins: rc.Plugins, Upstream: rc.Upstream, routeRare: noRare,
	}
	// status 1 is what the Admin API stores for every enabled route.
	status := rc.Status != nil && *rc.Status != 1
	if status || len(rc.RemoteAddrs) > 0 || rc.VarsExpr != nil || rc.FilterFunc != "" || rc.Timeout != nil {
		c.routeRare = &routeRare{Status: rc.Status, RemoteAddrs: rc.RemoteAddrs, VarsExpr: rc.VarsExpr,
			FilterFunc: rc.FilterFunc, Timeout: rc.Timeout}
	}
	return c
}

// ObjectID implements config.Object.
func (r *routeConf) ObjectID() string { return r.ID }

// Enabled reports whether the route is routable (status absent or 1).
func (r *routeConf) Enabled() bool { return r.Status == nil || *r.Status == 1 }

// depKeys yields what a compiled route refers to: its upstream (through
// the upTable: upstreamRef), service and plugin config by id, and what its
// plugins refer to (traffic-split's upstreams, Lua plugins loaded from
// etcd). An iterator, not a slice: a first load asks it of every route.
func (r *Route) depKeys() iter.Seq[depKey] {
	return func(yield func(depKey) bool) {
		if r.refs != nil {
			for _, k := range r.refs.deps {
				if !yield(k) {
					return
				}
			}
		}
		if c := r.conf; c != nil {
			_ = yield(depKey{upstreamRef, c.UpstreamID}) && yield(depKey{config.Services, c.ServiceID}) &&
				yield(depKey{config.PluginConfigs, c.PluginConfigID})
		}
	}
}

// addUsers records that route id (compiled as r) refers to what it does:
// a change to any of those recompiles it. Routes that did not compile
// (disabled, or paths or filter_func refused) refer to nothing: no other
// object's change can make them compile.
func (st *state) addUsers(id string, r *Route) {
	for k := range r.depKeys() {
		if k.id == "" {
			continue
		}
		set := st.users[k]
		if set == nil {
			set = map[string]struct{}{}
			st.users[k] = set
		}
		set[id] = struct{}{}
	}
}

// removeUsers undoes addUsers.
func (st *state) removeUsers(id string, r *Route) {
	for k := range r.depKeys() {
		if set := st.users[k]; set != nil {
			delete(set, id)
			if len(set) == 0 {
				delete(st.users, k)
			}
		}
	}
}
