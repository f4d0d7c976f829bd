package sync

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/balancer"
	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/vartmpl"
	"github.com/sluicegw/sluice/plugin"
	"github.com/sluicegw/sluice/trie"
)

// Snapshot is one immutable version of the running configuration.
type Snapshot struct {
	// Version increases with every published snapshot (the etcd revision
	// for etcd sources, a counter for files).
	Version int64
	// GlobalRules runs before every route's chain, and on unmatched requests.
	GlobalRules *plugin.Chain
	// Plugins holds the consumers, credentials and plugin metadata plugins
	// read at run time (the request context's Config).
	Plugins *plugin.Index

	router *trie.Router[*Route]
	// upTable is the upstreams routes name by id, by slot (upTable in
	// uptable.go): UpstreamOf reads it.
	upTable []*Upstream
	// failClosed, when set, is what every request gets: a global rule
	// sluice cannot honour.
	failClosed *Route

	routeItems, services, upstreams listing

	retired *Retirements
}

// RetiredNodes appends to dst the node Refs that stopped being used at or
// after sequence number seq, and returns the sequence number to ask from
// next time. Event loops call it on their timer tick to close idle
// connections to removed nodes. Safe from any goroutine.
func (s *Snapshot) RetiredNodes(seq uint64, dst []Ref) ([]Ref, uint64) {
	if s.retired == nil {
		return dst, seq
	}
	return s.retired.Since(seq, dst)
}

// Match returns the route for q, or nil. Safe from any goroutine; allocates
// nothing.
func (s *Snapshot) Match(q *trie.Query) *Route {
	if s.failClosed != nil {
		return s.failClosed
	}
	r, _ := s.router.Match(q)
	return r
}

// UpstreamOf returns where r sends requests under this snapshot: its own
// (inline, or its service's inline) upstream, or the one it names by id as
// this snapshot has it; nil when r.Status is set. Call it with the
// snapshot r was matched in. Safe from any goroutine; allocates nothing.
func (s *Snapshot) UpstreamOf(r *Route) *Upstream {
	if r.upSlot != 0 {
		return s.upTable[r.upSlot-1]
	}
	return r.own
}

// Routes returns the number of routable routes.
func (s *Snapshot) Routes() int { return s.router.Len() }

// Items lists the stored objects of a kind the control API shows (routes,
// services, upstreams), sorted by id; nil for other kinds.
func (s *Snapshot) Items(k *config.Kind) []*Item {
	if l := s.listing(k); l != nil {
		return l.items()
	}
	return nil
}

// Item returns one stored object of a kind Items lists, or nil.
func (s *Snapshot) Item(k *config.Kind, id string) *Item {
	if l := s.listing(k); l != nil {
		return l.get(id)
	}
	return nil
}

// listing returns what s lists of kind k, or nil for a kind it does not.
func (s *Snapshot) listing(k *config.Kind) *listing {
	switch k {
	case config.Routes:
		return &s.routeItems
	case config.Services:
		return &s.services
	case config.Upstreams:
		return &s.upstreams
	}
	return nil
}

// Route is a compiled, routable route.
//
// Layout: with 100K routes a request's route is cold memory, so the fields
// the engine reads on every request come first and fill the struct's first
// two cache lines (its upstream, Plugins, Timeout, Status, OwnTimeout, then
// the names it copies into the request context); what only the builder,
// the control API or an error path reads comes after.
type Route struct {
	// own is the route's own upstream (inline, or its service's inline
	// one); identical inline upstreams of different routes are one
	// compiled Upstream (Builder interns them). upSlot, when not zero, is
	// 1 + the slot of the upstream it names by id instead (upTable).
	// Snapshot.UpstreamOf reads them; both are unset when Status is.
	own    *Upstream
	upSlot uint32
	// OwnTimeout says the route sets its own Timeout, which then wins
	// over its upstream's and over an upstream a plugin picks.
	OwnTimeout   bool
	ownsUpstream bool // own is the route's share of an interned inline upstream
	// Plugins runs in each phase after the global rules.
	Plugins *plugin.Chain
	// Timeout is the route's own timeout, when OwnTimeout (zero fields:
	// the engine's defaults); otherwise the upstream's applies.
	Timeout Timeouts
	// Status, when non-zero, is what the route answers instead of proxying:
	// 502 for an unknown upstream_id, 503 for a route with no upstream
	// (APISIX's behaviour) or with a plugin sluice does not run, 404 for
	// an unknown service.
	Status int

	ID string
	// Name and ServiceID are the route's name and service (route_name,
	// service_id); ServiceName is its service's name (service_name).
	Name, ServiceID, ServiceName string

	// Err says why Status is set.
	Err error

	conf *routeConf // what it was compiled from
	refs *routeRefs // nil for most routes
}

// routeRefs is what few routes have and only the builder reads: what their
// plugins refer to, and what their router entry takes from elsewhere than
// conf. Behind a pointer, nil for most of a large table, so Route stays in
// the 160-byte size class (issue 13).
type routeRefs struct {
	upstreams []*Upstream // upstreams its plugins compiled (traffic-split)
	deps      []depKey    // what its plugins refer to by id: upstreams, Lua plugins
	hosts     []string    // its service's hosts, matched when it has none of its own
	filter    trie.Filter // its filter_func, compiled
}

// moreRefs returns r's refs, creating them.
func (r *Route) moreRefs() *routeRefs {
	if r.refs == nil {
		r.refs = &routeRefs{}
	}
	return r.refs
}

// routerEntry is r as the router stores it. It is built when the router
// needs it, never kept: the router keeps what matching reads, conf and
// refs the rest (a kept trie.Route was 144 bytes a route, issue 13).
func (r *Route) routerEntry() trie.Route[*Route] {
	c := r.conf
	te := trie.Route[*Route]{ID: c.ID, Paths: c.Paths, Hosts: c.Hosts, Methods: c.MethodSet,
		RemoteAddrs: c.RemoteAddrs, Vars: c.VarsExpr, Priority: c.Priority, Seq: int(c.seq), Value: r}
	if x := r.refs; x != nil {
		if len(te.Hosts) == 0 {
			te.Hosts = x.hosts
		}
		te.Filter = x.filter
	}
	return te
}

// Timeouts are upstream timeouts; a zero field means "engine default".
type Timeouts struct {
	Connect, Send, Read time.Duration
}

// Upstream is a compiled upstream: nodes with identities and a picker.
//
// Layout: what the engine reads on every request (Ref, Nodes, Picker,
// Balancer, PassHost, Retries, Timeout, RetryTimeout, Health) comes first,
// copied out of Conf at build time, so a request never dereferences the
// upstream's config (issue 13: a route's own upstream is cold memory in a
// large table).
type Upstream struct {
	// Ref keys the loops' per-upstream state (balancer cursors); a new
	// version of the upstream gets a new Ref, so that state restarts, as
	// APISIX's does.
	Ref    Ref
	Nodes  []Node
	Picker balancer.Picker
	// Balancer and PassHost are Conf's, for the request path.
	Balancer config.Balancer
	PassHost config.PassHost
	// Retries is how many other nodes a failed connection may move on to:
	// the configured retries, or len(Nodes)-1 (APISIX's default).
	Retries int
	Timeout Timeouts
	// RetryTimeout is retry_timeout: once this long has passed since the
	// request's first attempt, a failed attempt is not retried (the
	// request answers 502, as APISIX's balancer does). Zero: no limit.
	RetryTimeout time.Duration
	// Health is the upstream's health checker: Health.Down() is the nodes
	// to skip, and the engine reports each attempt's outcome to it
	// (balancer/health's doc). Nil (all healthy) without checks.
	Health *health.Checker
	// HostRewrite is the Host pass_host "rewrite" sends (upstream_host).
	HostRewrite []byte
	// Hash is where a chash upstream's key comes from, compiled once.
	Hash HashKey
	// TLS is the client configuration of an https upstream (nil for
	// http): verification and client certificate. Shared and immutable:
	// the engine clones it per connection to set ServerName.
	TLS *tls.Config

	ID       string // empty for inline upstreams
	Conf     *config.Upstream
	interned string // the intern table's key, for an interned inline upstream

	dnsHosts   []string // host names its nodes were resolved from
	dnsService string   // its dns-discovered service_name, if any
	dnsPort    int      // the default port that service was resolved with
}

// HashKey is a chash upstream's hash_on and key, compiled: the engine
// reads the key from the request with it (APISIX's fetch_chash_hash_key)
// and falls back to remote_addr when it comes out empty.
type HashKey struct {
	On config.HashOn
	// Var is the variable read for vars (the key itself), header
	// (http_<key>) and cookie (cookie_<key>).
	Var expr.Var
	// Template is the vars_combinations template.
	Template *vartmpl.Template
}

// Node is one upstream server.
type Node struct {
	// Ref is the same for an address across snapshots while any
	// configuration lists it: keepalive pools and other per-node runtime
	// state are keyed by it.
	Ref Ref
	// Addr is "host:port", what is dialled: the resolved address for a
	// host-name node (upstream_addr shows it).
	Addr string
	// IP is the node's address (dialled on the event loop itself); invalid
	// only for a host name that could not be resolved (or with no
	// Builder.Resolver), which the engine dials through its dialer pool.
	IP netip.AddrPort
	// HostHeader is the Host value pass_host "node" sends: the host, plus
	// ":port" when the port is not the scheme's default.
	HostHeader []byte
	// Host and Port are the node's address (balancer_ip and
	// balancer_port).
	Host string
	Port int

	key string // what Ref is interned under (nodeKey)
}

// Store publishes snapshots to the request path (RCU): Load is one atomic
// pointer load, Publish one atomic store.
type Store struct {
	cur atomic.Pointer[Snapshot]
}

// NewStore returns a store holding an empty snapshot (every request 404s
// until a source publishes).
func NewStore() *Store {
	s := &Store{}
	empty, _ := trie.New[*Route](trie.HostURI, nil)
	s.cur.Store(&Snapshot{router: empty})
	return s
}

// Load returns the current snapshot. Safe from any goroutine; a request
// loads once and uses that snapshot to the end.
func (s *Store) Load() *Snapshot { return s.cur.Load() }

// Publish makes next the current snapshot. Only the source's goroutine
// calls it; next must not be modified afterwards.
func (s *Store) Publish(next *Snapshot) { s.cur.Store(next) }

// statusNoUpstream is APISIX's answer for a route without any upstream.
const statusNoUpstream = http.StatusServiceUnavailable
