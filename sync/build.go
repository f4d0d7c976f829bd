package sync

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/balancer"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/trie"
)

// Objects is a complete set of decoded configuration objects, in load order
// (the order that breaks route priority ties).
type Objects struct {
	Routes    []*config.Route
	Upstreams []*config.Upstream
}

// Builder compiles Objects into Snapshots. One Builder serves one Store for
// the life of the process: it owns the table that keeps NodeIDs stable.
// Not safe for concurrent use (a source builds from one goroutine).
type Builder struct {
	// Loops is how many event loops pickers must keep cursors for.
	// Zero means GOMAXPROCS.
	Loops int
	// Mode is the router flavour (apisix.router.http).
	Mode trie.Mode
	// FilterFunc compiles a route's filter_func (Lua source) into a router
	// filter. Nil means no Lua support: such routes are left out, with an
	// error saying why.
	FilterFunc func(src string) (trie.Filter, error)

	nodes nodeIDs
}

// ErrFilterFuncUnsupported: a route has a filter_func and this build has no
// Lua to run it.
var ErrFilterFuncUnsupported = errors.New("sync: filter_func needs Lua, which this build does not run")

// Build compiles objs into a snapshot with the given version. References are
// resolved here: a route whose upstream_id is unknown answers 502, one with
// no upstream at all answers 503, as APISIX does. A route that cannot be
// routed at all (a filter_func without Lua, a path pattern with too many
// parameters) is left out; skipped lists why, one error per route.
func (b *Builder) Build(version int64, objs *Objects) (snap *Snapshot, skipped []error) {
	loops := b.Loops
	if loops <= 0 {
		loops = runtime.GOMAXPROCS(0)
	}
	s := &Snapshot{
		Version:   version,
		routes:    make(map[string]*Route, len(objs.Routes)),
		upstreams: make(map[string]*Upstream, len(objs.Upstreams)),
	}
	for _, u := range objs.Upstreams {
		s.upstreams[u.ID.S] = b.compileUpstream(u, loops)
	}
	entries := make([]*trie.Route[*Route], 0, len(objs.Routes))
	for seq, rc := range objs.Routes {
		if !rc.Enabled() {
			continue
		}
		te := &trie.Route[*Route]{
			ID:          rc.ID.S,
			Paths:       rc.Paths,
			Hosts:       rc.Hosts,
			Methods:     uint16(rc.MethodSet),
			RemoteAddrs: rc.RemoteAddrs,
			Vars:        rc.VarsExpr,
			Priority:    rc.Priority,
			Seq:         seq,
		}
		if err := b.Mode.CheckPaths(rc.Paths...); err != nil {
			skipped = append(skipped, fmt.Errorf("sync: route %s: %w", rc.ID.S, err))
			continue
		}
		if rc.FilterFunc != "" {
			if b.FilterFunc == nil {
				skipped = append(skipped, fmt.Errorf("route %s: %w", rc.ID.S, ErrFilterFuncUnsupported))
				continue
			}
			f, err := b.FilterFunc(rc.FilterFunc)
			if err != nil {
				skipped = append(skipped, fmt.Errorf("sync: route %s: filter_func: %w", rc.ID.S, err))
				continue
			}
			te.Filter = f
		}
		r := &Route{ID: rc.ID.S, Conf: rc}
		switch {
		case rc.Upstream != nil:
			r.Upstream = b.compileUpstream(rc.Upstream, loops)
		case !rc.UpstreamID.IsZero():
			r.Upstream = s.upstreams[rc.UpstreamID.S]
			if r.Upstream == nil {
				r.Status = http.StatusBadGateway
			}
		case !rc.ServiceID.IsZero():
			// Services arrive with the etcd/admin work; until then a
			// route pointing at one behaves as if the service is unknown.
			r.Status = http.StatusNotFound
		default:
			r.Status = statusNoUpstream
		}
		if r.Upstream != nil {
			r.Timeout = r.Upstream.Timeout
		}
		if rc.Timeout != nil {
			r.Timeout = timeoutsOf(rc.Timeout)
		}
		s.routes[r.ID] = r
		te.Value = r
		entries = append(entries, te)
	}
	router, err := trie.New(b.Mode, entries)
	if err != nil {
		// CheckPaths vetted every path, so this is a bug, not bad config:
		// serve nothing rather than a half-built router.
		skipped = append(skipped, fmt.Errorf("sync: building the router: %w", err))
		router, _ = trie.New[*Route](b.Mode, nil)
	}
	s.router = router
	return s, skipped
}

// Route returns the compiled route with the given id, or nil.
func (s *Snapshot) Route(id string) *Route { return s.routes[id] }

func (b *Builder) compileUpstream(u *config.Upstream, loops int) *Upstream {
	cu := &Upstream{ID: u.ID.S, Conf: u, Nodes: make([]Node, len(u.Nodes))}
	for i := range u.Nodes {
		n := &u.Nodes[i]
		addr := n.Addr()
		host := n.Host
		if n.Port != 80 {
			host += ":" + strconv.Itoa(n.Port)
		}
		cu.Nodes[i] = Node{ID: b.nodes.of(addr), Addr: addr, HostHeader: []byte(host)}
		if ip, err := netip.ParseAddr(strings.Trim(n.Host, "[]")); err == nil {
			cu.Nodes[i].IP = netip.AddrPortFrom(ip, uint16(n.Port))
		}
	}
	cu.Picker = balancer.New(u, loops)
	cu.Retries = len(u.Nodes) - 1
	if u.Retries != nil {
		cu.Retries = *u.Retries
	}
	if u.Timeout != nil {
		cu.Timeout = timeoutsOf(u.Timeout)
	}
	return cu
}

func timeoutsOf(t *config.Timeout) Timeouts {
	return Timeouts{Connect: t.Connect.Duration(), Send: t.Send.Duration(), Read: t.Read.Duration()}
}
