package trie

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/httpmethod"
)

// Mode is APISIX's apisix.router.http setting.
type Mode uint8

// Router modes.
const (
	// HostURI (radixtree_host_uri, APISIX's default since 3.3): routes with
	// hosts are looked up by host first (exact host, then wildcard
	// suffixes from the longest), each host with its own path index; only
	// if none matches are host-less routes tried. A route with a matching
	// host beats every host-less route.
	HostURI Mode = iota
	// URI (radixtree_uri): one path index; hosts are a per-route check.
	URI
	// URIWithParameter (radixtree_uri_with_parameter): as URI, and ":name"
	// in a path matches one segment, "*name" the rest, captured as
	// uri_param_<name>.
	URIWithParameter
)

var modeNames = [...]string{"radixtree_host_uri", "radixtree_uri", "radixtree_uri_with_parameter"}

func (m Mode) String() string { return modeNames[m] }

// ParseMode decodes apisix.router.http; empty means HostURI.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return HostURI, nil
	}
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("trie: unknown router %q", s)
}

// Query is what a request is matched on. The engine fills one per request;
// the router reads it and writes only Params.
type Query struct {
	Path       []byte         // normalised path ($uri), no query string
	Host       []byte         // host name, lower case, no port ($host)
	HostRev    []byte         // Host reversed byte by byte (HostURI mode looks hosts up by suffix)
	HostHeader []byte         // Host header as sent, for route hosts that name a port
	Method     httpmethod.Set // the request method's Bit
	RemoteAddr netip.Addr     // client address
	Vars       expr.Vars      // variables for vars conditions (may be nil if no route has any)
	Params     Params         // out: parameter captures of the matched route
}

// MaxParams bounds the parameters one route path may capture.
const MaxParams = 8

// Params are the captures of a parameter route: Value(i) is a sub-slice of
// Query.Path, valid as long as it is.
type Params struct {
	n     int
	names [MaxParams]string
	vals  [MaxParams][]byte
}

// Len returns the number of captures.
func (p *Params) Len() int { return p.n }

// Get returns the capture for name.
func (p *Params) Get(name string) ([]byte, bool) {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.vals[i], true
		}
	}
	return nil, false
}

// Filter is a route's filter_func hook: the Lua support plugs in here. It
// runs after every other condition held.
type Filter interface {
	Match(q *Query) bool
}

// Route is one routable entry: where it matches and the value it leads to.
type Route[T any] struct {
	ID          string
	Paths       []string       // "/exact", "/prefix*", "/p/:param", "/p/*rest"
	Hosts       []string       // lower case; "*.suffix" and "*" wildcards; empty: any host
	Methods     httpmethod.Set // zero: any method
	RemoteAddrs []netip.Prefix // empty: any address
	Vars        *expr.Expr     // nil: no condition
	Filter      Filter         // nil: no filter_func
	Priority    int            // higher first among routes sharing a stored path
	// Seq is the load order that breaks priority ties (lower first), as
	// APISIX's: key order at a full load, appended for later additions,
	// unchanged when a route is modified.
	Seq   int
	Value T
}

// Router matches queries against routes. Immutable: Update returns a new
// Router that shares everything it did not touch. Match is safe from any
// number of goroutines and allocates nothing.
type Router[T any] struct {
	mode    Mode
	hosts   radix[pathIndex[T]] // HostURI: reversed host → its path trie
	uriOnly pathIndex[T]        // routes without hosts (all routes outside HostURI)
	routes  int
}

// pathIndex is the path trie of one host (or of the host-less routes).
type pathIndex[T any] = radix[bucket[T]]

// bucket holds the routes stored at one trie key and slot, in match order.
// Entries are values: checking a candidate reads one array, not a chain of
// pointers.
type bucket[T any] []entry[T]

// entry is one (route, path) pair, with copies of the route fields the
// checks read.
type entry[T any] struct {
	methods httpmethod.Set
	remotes []netip.Prefix
	vars    *expr.Expr
	filter  Filter
	pattern pathPattern // set when the path has parameters to check
	hosts   []hostMatch // URI modes: the route's hosts, compiled
	route   *Route[T]
	pathOrg string // the path as written
}

type hostMatch struct {
	wildcard bool   // "*.suffix" (suffix without the '*'), or "*" (empty)
	host     string // lower case
	port     bool   // the host names a port: compare with the Host header
}

// New builds a router over routes.
func New[T any](mode Mode, routes []*Route[T]) (*Router[T], error) {
	r := &Router[T]{mode: mode}
	t := newTxn()
	for _, rt := range routes {
		if err := r.insert(t, rt); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Mode returns the router's mode.
func (r *Router[T]) Mode() Mode { return r.mode }

// Len returns the number of routes.
func (r *Router[T]) Len() int { return r.routes }

// Update returns the router with old replaced by new: old nil adds, new nil
// deletes. Both describe the route as given to New or a previous Update
// (the router keeps no index by id). Only the trie paths of the changed
// keys are copied.
func (r *Router[T]) Update(old, new *Route[T]) (*Router[T], error) {
	next := *r
	t := newTxn()
	if old != nil {
		next.remove(t, old)
	}
	if new != nil {
		if err := next.insert(t, new); err != nil {
			return nil, err
		}
	}
	return &next, nil
}

// key is where one (route, path, host) is stored.
type key struct {
	hosted  bool   // HostURI mode, route with hosts: in the host trie
	host    string // reversed host
	hostOp  slot   // exact host, or wildcard suffix
	path    string
	pathOp  slot
	pattern pathPattern
	pathOrg string // the path as written
}

// keysOf lists where a route is stored: one key per path, times one per
// host in HostURI mode.
func (r *Router[T]) keysOf(rt *Route[T]) ([]key, error) {
	var out []key
	for _, p := range rt.Paths {
		k, err := pathKey(p, r.mode)
		if err != nil {
			return nil, fmt.Errorf("trie: route %s: %w", rt.ID, err)
		}
		k.pathOrg = p
		if r.mode != HostURI || len(rt.Hosts) == 0 {
			out = append(out, k)
			continue
		}
		for _, h := range rt.Hosts {
			hk := k
			hk.hosted = true
			hk.host, hk.hostOp = hostKey(h)
			out = append(out, hk)
		}
	}
	return out, nil
}

// pathKey splits a route path into its trie key, slot and parameters, as
// lua-resty-radixtree does: with parameters enabled, the text before the
// first ':' is a prefix key and the whole path a pattern; otherwise a '*'
// makes the text before it a prefix key (a '*' not at the end also makes a
// pattern); anything else is exact.
func pathKey(p string, mode Mode) (key, error) {
	if mode == URIWithParameter {
		if i := strings.IndexByte(p, ':'); i >= 0 {
			pat, err := compilePattern(p, i)
			return key{path: p[:i], pathOp: slotPrefix, pattern: pat}, err
		}
	}
	if i := strings.IndexByte(p, '*'); i >= 0 {
		k := key{path: p[:i], pathOp: slotPrefix}
		if i != len(p)-1 || mode == URIWithParameter {
			pat, err := compilePattern(p, i)
			if err != nil {
				return k, err
			}
			if pat.captures() > 0 {
				k.pattern = pat
			}
		}
		return k, nil
	}
	return key{path: p, pathOp: slotExact}, nil
}

// hostKey maps a route host to its key in the reversed-host trie:
// "a.foo.com" → exact "moc.oof.a"; "*.foo.com" → prefix "moc.oof."; "*" →
// prefix "" (every host).
func hostKey(h string) (string, slot) {
	if strings.HasPrefix(h, "*") {
		return reverse(h[1:]), slotPrefix
	}
	return reverse(h), slotExact
}

func reverse(s string) string {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		b[len(s)-1-i] = s[i]
	}
	return string(b)
}

func (r *Router[T]) newEntry(rt *Route[T], k key) entry[T] {
	e := entry[T]{route: rt, pathOrg: k.pathOrg, pattern: k.pattern,
		methods: rt.Methods, remotes: rt.RemoteAddrs, vars: rt.Vars, filter: rt.Filter}
	if r.mode != HostURI {
		for _, h := range rt.Hosts {
			hm := hostMatch{host: h, port: strings.Contains(h, ":")}
			if strings.HasPrefix(h, "*") {
				hm.wildcard, hm.host = true, h[1:]
			}
			e.hosts = append(e.hosts, hm)
		}
	}
	return e
}

func (r *Router[T]) insert(t *txn, rt *Route[T]) error {
	keys, err := r.keysOf(rt)
	if err != nil {
		return err
	}
	for _, k := range keys {
		idx := r.indexFor(k)
		b, _ := idx.get(k.path, k.pathOp)
		idx.set(t, k.path, k.pathOp, b.with(r.newEntry(rt, k)), true)
		r.storeIndex(t, k, idx)
	}
	r.routes++
	return nil
}

func (r *Router[T]) remove(t *txn, rt *Route[T]) {
	keys, err := r.keysOf(rt)
	if err != nil {
		return // it could not have been inserted
	}
	found := false
	for _, k := range keys {
		idx := r.indexFor(k)
		b, ok := idx.get(k.path, k.pathOp)
		if !ok {
			continue
		}
		nb, removed := b.without(rt.ID)
		if !removed {
			continue
		}
		found = true
		idx.set(t, k.path, k.pathOp, nb, len(nb) > 0)
		r.storeIndex(t, k, idx)
	}
	if found {
		r.routes--
	}
}

// indexFor returns the path trie a key lives in, by value: setting into the
// copy path-copies under the txn, and storeIndex puts it back.
func (r *Router[T]) indexFor(k key) pathIndex[T] {
	if k.hosted {
		idx, _ := r.hosts.get(k.host, k.hostOp)
		return idx
	}
	return r.uriOnly
}

func (r *Router[T]) storeIndex(t *txn, k key, idx pathIndex[T]) {
	if k.hosted {
		r.hosts.set(t, k.host, k.hostOp, idx, idx.root != nil)
		return
	}
	r.uriOnly = idx
}

// with returns a copy of b with e inserted in match order: priority high
// first, then longer original path, then lower Seq.
func (b bucket[T]) with(e entry[T]) bucket[T] {
	out := make(bucket[T], 0, len(b)+1)
	placed := false
	for _, x := range b {
		if !placed && before(&e, &x) {
			out = append(out, e)
			placed = true
		}
		out = append(out, x)
	}
	if !placed {
		out = append(out, e)
	}
	return out
}

func before[T any](a, b *entry[T]) bool {
	if a.route.Priority != b.route.Priority {
		return a.route.Priority > b.route.Priority
	}
	if len(a.pathOrg) != len(b.pathOrg) {
		return len(a.pathOrg) > len(b.pathOrg)
	}
	return a.route.Seq < b.route.Seq
}

// without returns a copy of b without the entries of route id.
func (b bucket[T]) without(id string) (bucket[T], bool) {
	out := make(bucket[T], 0, len(b))
	removed := false
	for _, x := range b {
		if x.route.ID == id {
			removed = true
			continue
		}
		out = append(out, x)
	}
	return out, removed
}

// CheckPaths reports whether paths can be stored in a router of this mode
// (parameter patterns compile, at most MaxParams captures). New and Update
// fail on the same errors; a config source checks first to skip one bad
// route instead of failing them all.
func (m Mode) CheckPaths(paths ...string) error {
	for _, p := range paths {
		if _, err := pathKey(p, m); err != nil {
			return fmt.Errorf("trie: path %q: %w", p, err)
		}
	}
	return nil
}
