package trie

import (
	"fmt"
	"hash/maphash"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"unsafe"

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
	mode       Mode           // out: how the router that answered reads paths (MatchedPath)
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

// At returns the i-th capture, 0 <= i < Len.
func (p *Params) At(i int) (name string, val []byte) { return p.names[i], p.vals[i] }

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
// The router keeps none of it but the value and what matching reads, so a
// caller may build it only when it hands it over (issue 13: a million
// kept Routes were 144 MB).
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
	Seq int
	// Value is what a match returns. It identifies the route: Update
	// removes old's entries by it, so no two routes of a router have
	// equal values.
	Value T
}

// Router matches queries against routes. Immutable: Update returns a new
// Router that shares everything it did not touch. Match is safe from any
// number of goroutines and allocates nothing.
type Router[T comparable] struct {
	mode    Mode
	seed    maphash.Seed
	hosts   radix[hostIndexes[T]] // HostURI: reversed host → its path indexes
	uriOnly pathIndex[T]          // routes without hosts (all routes outside HostURI); id 0
	exact   htable[T]             // exact paths and slashed prefix keys of every path index
	routes  int
	lastID  uint64 // the last path index id handed out; ids are never reused
}

// pathIndex is the routes of one host (or the host-less routes). Exact
// paths and prefix keys ending in '/' (nearly all of them: "/api/v1/*",
// "/svc/:id") are in the router's hash table under the index's id; other
// prefix keys ("/foo*", "*") are in its own trie.
type pathIndex[T any] struct {
	prefix  radix[bucket[T]] // prefix keys not ending in '/'
	id      uint64
	exacts  int      // exact keys in the hash table
	slashed int      // prefix keys ending in '/' in the hash table
	segMask uint64   // bit c: a slashed key has c slashes (bit 63: 63 or more)
	segs    []uint32 // slashed keys by slash count, for segMask (the builder's)
}

func (ix *pathIndex[T]) empty() bool {
	return ix.prefix.root == nil && ix.exacts == 0 && ix.slashed == 0
}

// keyClass is where a key is stored.
type keyClass uint8

const (
	classExact   keyClass = iota // exact path: hash table
	classSlashed                 // prefix key ending in '/': hash table
	classTrie                    // other prefix key: the index's trie
)

func (k *key) class() keyClass {
	switch {
	case k.pathOp == slotExact:
		return classExact
	case strings.HasSuffix(k.path, "/"):
		return classSlashed
	}
	return classTrie
}

// hashID is the id an index's keys of class c have in the hash table.
//
//gcassert:inline
func hashID(id uint64, c keyClass) uint64 { return id<<1 | uint64(c&1) }

// maxSegBit is segMask's last bit: keys with at least that many slashes.
const maxSegBit = 63

func segBit(slashes int) uint64 { return 1 << min(slashes, maxSegBit) }

// addSlashed counts a slashed key added (delta 1) or removed (-1).
func (ix *pathIndex[T]) addSlashed(t *txn, path string, delta int) {
	c := min(strings.Count(path, "/"), maxSegBit)
	if ix.segs == nil || !t.owns(unsafe.Pointer(&ix.segs[0])) {
		segs := make([]uint32, maxSegBit+1)
		copy(segs, ix.segs)
		ix.segs = segs
		t.mark(unsafe.Pointer(&segs[0]))
	}
	ix.segs[c] = uint32(int(ix.segs[c]) + delta)
	ix.slashed += delta
	if ix.segs[c] == 0 {
		ix.segMask &^= segBit(c)
	} else {
		ix.segMask |= segBit(c)
	}
}

// hostIndexes is what one reversed-host key holds: the routes of that
// exact host and those of the wildcard suffix it spells.
type hostIndexes[T any] struct {
	exact, wild pathIndex[T]
}

// bucket holds the routes stored at one key, in match order. The first
// entry is inline: most keys have one route, and checking it reads the
// bucket's own cache line only. The others are behind one pointer, nil
// for most keys: a slice header there made every hash record 16 bytes
// larger than its two cache lines (issue 13).
type bucket[T any] struct {
	first entry[T]
	rest  *[]entry[T] // nil: first is the only entry
}

// entry is one (route, path) pair as the match reads it: the value, the
// method set every request checks, and the rarer conditions behind
// pointers read only when the route has them; then what orders a bucket
// (before). 48 bytes for a pointer T, so a bucket is 56: within one cache
// line.
type entry[T any] struct {
	value   T
	more    *conds       // nil: no condition beyond methods and parameters
	pat     *pathPattern // nil: no parameters to check (patternBox)
	methods httpmethod.Set
	orgLen  uint32 // length of the path as written

	priority, seq int // the route's Priority and Seq
}

// conds are a candidate's conditions other than methods and parameters.
type conds struct {
	remotes []netip.Prefix
	hosts   []hostMatch // URI modes: the route's hosts, compiled
	vars    *expr.Expr
	filter  Filter
}

type hostMatch struct {
	wildcard bool   // "*.suffix" (suffix without the '*'), or "*" (empty)
	host     string // lower case
	port     bool   // the host names a port: compare with the Host header
}

// New builds a router over routes.
func New[T comparable](mode Mode, routes []*Route[T]) (*Router[T], error) {
	return Build(mode, slices.Values(routes))
}

// Build builds a router over the routes seq yields. The router keeps none
// of them, so seq may yield one Route rewritten each time: a caller with a
// million routes need not hold a million Routes at once.
func Build[T comparable](mode Mode, seq iter.Seq[*Route[T]]) (*Router[T], error) {
	r := &Router[T]{mode: mode, seed: maphash.MakeSeed()}
	t, recs := buildTxn(), &recSlab[T]{}
	for rt := range seq {
		if err := r.insert(t, recs, rt); err != nil {
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
// deletes. old describes the route as given to New or a previous Update:
// the router keeps no index by id, and finds old's entries at its paths
// and hosts by its Value. Only the trie paths and hash shards of the
// changed keys are copied.
func (r *Router[T]) Update(old, new *Route[T]) (*Router[T], error) {
	next := *r
	t := newTxn()
	if old != nil {
		next.remove(t, old)
	}
	if new != nil {
		if err := next.insert(t, nil, new); err != nil {
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

// keysOf appends to out where a route is stored: one key per path, times
// one per host in HostURI mode.
func (r *Router[T]) keysOf(rt *Route[T], out []key) ([]key, error) {
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
	e := entry[T]{value: rt.Value, methods: rt.Methods, orgLen: uint32(len(k.pathOrg)), priority: rt.Priority, seq: rt.Seq}
	if k.pattern.set {
		e.pat = boxPattern(k.pattern)
	}
	hosted := r.mode != HostURI && len(rt.Hosts) > 0
	if !hosted && len(rt.RemoteAddrs) == 0 && rt.Vars == nil && rt.Filter == nil {
		return e
	}
	c := &conds{remotes: rt.RemoteAddrs, vars: rt.Vars, filter: rt.Filter}
	if hosted {
		for _, h := range rt.Hosts {
			hm := hostMatch{host: h, port: strings.Contains(h, ":")}
			if strings.HasPrefix(h, "*") {
				hm.wildcard, hm.host = true, h[1:]
			}
			c.hosts = append(c.hosts, hm)
		}
	}
	e.more = c
	return e
}

// insert adds rt under t, taking new hash records from recs (nil: one by
// one).
func (r *Router[T]) insert(t *txn, recs *recSlab[T], rt *Route[T]) error {
	var buf [2]key
	keys, err := r.keysOf(rt, buf[:0])
	if err != nil {
		return err
	}
	for i := range keys {
		k := &keys[i]
		idx := r.indexFor(*k)
		e := r.newEntry(rt, *k)
		es := []entry[T]{e}
		old := r.bucketAt(&idx, k)
		if old != nil {
			es = with(old.entries(), e)
		}
		r.setBucket(t, recs, &idx, k, es, old != nil)
		r.storeIndex(t, *k, idx)
	}
	r.routes++
	return nil
}

func (r *Router[T]) remove(t *txn, rt *Route[T]) {
	var buf [2]key
	keys, err := r.keysOf(rt, buf[:0])
	if err != nil {
		return // it could not have been inserted
	}
	found := false
	for i := range keys {
		k := &keys[i]
		idx := r.indexFor(*k)
		old := r.bucketAt(&idx, k)
		if old == nil {
			continue
		}
		es, removed := without(old.entries(), rt.Value)
		if !removed {
			continue
		}
		found = true
		r.setBucket(t, nil, &idx, k, es, true)
		r.storeIndex(t, *k, idx)
	}
	if found {
		r.routes--
	}
}

// bucketAt returns the bucket stored at k in ix, or nil.
func (r *Router[T]) bucketAt(ix *pathIndex[T], k *key) *bucket[T] {
	c := k.class()
	if c == classTrie {
		return ix.prefix.get(k.path)
	}
	hid := hashID(ix.id, c)
	if rec := r.exact.get(r.keyHash(hid, k.path), hid, k.path); rec != nil {
		return &rec.b
	}
	return nil
}

// setBucket stores es at k in ix under t, or removes the key when es is
// empty; was says whether the key had a bucket before. A hash key's new
// record comes from recs (nil: allocated alone).
func (r *Router[T]) setBucket(t *txn, recs *recSlab[T], ix *pathIndex[T], k *key, es []entry[T], was bool) {
	c := k.class()
	if c == classTrie {
		if len(es) == 0 {
			ix.prefix.set(t, k.path, nil)
			return
		}
		nb := bucketOf(es)
		ix.prefix.set(t, k.path, &nb)
		return
	}
	hid := hashID(ix.id, c)
	h := r.keyHash(hid, k.path)
	var rec *hrec[T]
	if len(es) > 0 {
		rec = recs.newRec(hid, k.path, bucketOf(es))
	}
	r.exact.set(t, h, hid, k.path, rec)
	delta := 0
	switch {
	case len(es) == 0 && was:
		delta = -1
	case len(es) > 0 && !was:
		delta = 1
	}
	switch {
	case delta == 0:
	case c == classExact:
		ix.exacts += delta
	default:
		ix.addSlashed(t, k.path, delta)
	}
}

// keyHash is the hash table's key hash of (hash id, path).
func (r *Router[T]) keyHash(hid uint64, path string) uint64 {
	return maphash.String(r.seed, path) ^ mixID(hid)
}

// indexFor returns the path index a key lives in, by value: setting into
// the copy path-copies under the txn, and storeIndex puts it back. A host
// seen for the first time gets a new index id.
func (r *Router[T]) indexFor(k key) pathIndex[T] {
	if !k.hosted {
		return r.uriOnly
	}
	var ix pathIndex[T]
	if hv := r.hosts.get(k.host); hv != nil {
		ix = hv.exact
		if k.hostOp == slotPrefix {
			ix = hv.wild
		}
	}
	if ix.empty() {
		r.lastID++
		ix = pathIndex[T]{id: r.lastID}
	}
	return ix
}

func (r *Router[T]) storeIndex(t *txn, k key, idx pathIndex[T]) {
	if !k.hosted {
		r.uriOnly = idx
		return
	}
	var hv hostIndexes[T]
	if old := r.hosts.get(k.host); old != nil {
		hv = *old
	}
	if k.hostOp == slotExact {
		hv.exact = idx
	} else {
		hv.wild = idx
	}
	if hv.exact.empty() && hv.wild.empty() {
		r.hosts.set(t, k.host, nil)
		return
	}
	r.hosts.set(t, k.host, &hv)
}

// entries returns b's entries as a new slice.
func (b *bucket[T]) entries() []entry[T] {
	if b.rest == nil {
		return []entry[T]{b.first}
	}
	out := make([]entry[T], 0, 1+len(*b.rest))
	return append(append(out, b.first), *b.rest...)
}

// bucketOf makes a bucket of es (at least one entry). It copies the rest,
// so es itself may live on the caller's stack: a new key's one entry
// allocates nothing but its record.
func bucketOf[T any](es []entry[T]) bucket[T] {
	b := bucket[T]{first: es[0]}
	if len(es) > 1 {
		rest := slices.Clone(es[1:])
		b.rest = &rest
	}
	return b
}

// with returns a copy of es with e inserted in match order: priority high
// first, then longer original path, then lower Seq.
func with[T any](es []entry[T], e entry[T]) []entry[T] {
	out := make([]entry[T], 0, len(es)+1)
	placed := false
	for _, x := range es {
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
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	if a.orgLen != b.orgLen {
		return a.orgLen > b.orgLen
	}
	return a.seq < b.seq
}

// without returns es without the entries whose value is v.
func without[T comparable](es []entry[T], v T) ([]entry[T], bool) {
	out := es[:0]
	removed := false
	for _, x := range es {
		if x.value == v {
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
