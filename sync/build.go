package sync

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"slices"
	stdsync "sync"

	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/discovery"
	"github.com/sluicegw/sluice/plugin"
	"github.com/sluicegw/sluice/trie"
)

// Item is one stored object as its source holds it.
type Item struct {
	// Key is where the object lives: "/apisix/routes/1" for etcd,
	// "routes/1" for a file.
	Key string
	// Value is the object's JSON as stored.
	Value json.RawMessage
	// CreateRev and ModRev are etcd's create and mod revisions (APISIX's
	// createdIndex and modifiedIndex); a file source numbers items in file
	// order. CreateRev orders routes of equal priority.
	CreateRev, ModRev int64
}

// Change is one object written or deleted.
type Change struct {
	Kind *config.Kind
	// ID is the object's id; a credential's is "<username>/<id>".
	ID string
	// Item is the new version; nil means deleted.
	Item *Item
	// Obj, when set, is Item already decoded (a file source validates the
	// whole file before applying any of it; see also Builder.Decode).
	Obj config.Object
	// skip marks an item Decode found invalid or unchanged.
	skip bool
}

// Builder turns changes into snapshots. It keeps the decoded configuration
// and the current router, so a change costs in proportion to what it
// touches: one route written among 100K is one router path copied, not a
// rebuild. One Builder serves one Store for the life of the process; it is
// not safe for concurrent use (a source applies from one goroutine).
type Builder struct {
	// Mode is the router flavour (apisix.router.http).
	Mode trie.Mode
	// FilterFunc compiles a route's filter_func (Lua source) into a router
	// filter. Nil means no Lua support: such routes are left out, with an
	// error saying why.
	FilterFunc func(src string) (trie.Filter, error)
	// Pipeline validates every object the source hands over (Load: an
	// unknown plugin fails closed rather than refusing the object). Nil
	// means config's default pipeline (no keyring, no plugins).
	Pipeline *config.Pipeline
	// Plugins compiles plugin confs into chains. Nil runs no plugin: a
	// route, service or global rule naming one fails closed (503).
	Plugins *plugin.Registry
	// Logger receives what plugins log while compiling; nil discards.
	Logger *slog.Logger
	// Health runs the checks of compiled upstreams: a checker is acquired
	// when an upstream with checks is compiled and released when it is
	// dropped. Nil: no health checks (disable_upstream_healthcheck).
	Health *health.Manager
	// Resolver resolves host-name nodes and dns-discovered services while
	// upstreams compile, and tells when an answer changed (RefreshDNS).
	// Nil: host names are left for the engine to dial through its dialer
	// pool, and discovery_type dns upstreams have no nodes.
	Resolver *discovery.Resolver
	// UpstreamCAs verifies https upstreams' certificates when their
	// tls.verify is true (APISIX's ssl_trusted_certificate); nil means the
	// system's pool.
	UpstreamCAs *x509.CertPool

	nodes  nodeTable // node addresses → Refs, counted by the compiled upstreams that list them
	upRefs slots     // one Ref per compiled upstream
	st     *state

	interns upstreamInterns // routes' identical inline upstreams, compiled once
	// progress, when set, is called every few thousand objects while
	// changes are stored and routes compiled (a first load's loadGC).
	progress func()
}

// ErrFilterFuncUnsupported: a route has a filter_func and this build has no
// Lua to run it.
var ErrFilterFuncUnsupported = errors.New("filter_func needs Lua, which this build does not run")

// state is what the Builder remembers between changes. Only the source's
// goroutine touches it.
type state struct {
	// objs holds the last good version of every object, by value: at 1M
	// routes a pointer per entry was a million more small objects for
	// the collector to mark (issue 13).
	objs map[*config.Kind]map[string]stored

	upstreams   map[string]*Upstream // compiled, by upstream id
	upTable     upTable              // the same, by slot: routes refer to them by it
	svcUpstream map[string]*Upstream // compiled inline upstream, by service id

	entries map[string]*Route              // compiled, per routable route (each in the router)
	users   map[depKey]map[string]struct{} // route ids by what they refer to
	svcOf   map[string]map[string]struct{} // service ids by upstream id
	router  *trie.Router[*Route]

	// What snapshots list: every stored route, service and upstream as
	// stored (the control API's view).
	routeItems, services, upstreamL listing

	failClosed *Route // set while a global rule cannot be honoured

	globals      *plugin.Chain // the global rules, compiled into one chain
	index        *plugin.Index // consumers, credentials, plugin metadata
	globalsDirty bool
	indexDirty   bool
}

type stored struct {
	item *Item
	obj  config.Object
}

// depKey names an object a route can refer to.
type depKey struct {
	kind *config.Kind
	id   string
}

func newState(mode trie.Mode) *state {
	empty, _ := trie.New[*Route](mode, nil)
	st := &state{
		router:      empty,
		objs:        map[*config.Kind]map[string]stored{},
		upstreams:   map[string]*Upstream{},
		svcUpstream: map[string]*Upstream{},
		entries:     map[string]*Route{},
		users:       map[depKey]map[string]struct{}{},
		svcOf:       map[string]map[string]struct{}{},
	}
	for _, k := range config.Kinds {
		st.objs[k] = map[string]stored{}
	}
	return st
}

// rebuildFraction: when more than 1/rebuildFraction of the routes change at
// once, building the router afresh is cheaper than path-copying each one.
const rebuildFraction = 4

// Apply applies changes and returns the resulting snapshot, which shares
// everything the changes did not touch with the previous one. With full
// set, changes is the complete configuration (a re-list): objects it does
// not mention are deleted, and objects whose ModRev is unchanged are kept
// without being decoded again.
//
// Apply sorts and annotates changes in place, and drops each decoded
// object (Obj) once stored. An object that fails
// validation is skipped and its last good version kept, as APISIX does; problems are returned, one error per object, for
// the source to log. Apply itself never fails: it always yields a
// consistent snapshot.
func (b *Builder) Apply(version int64, changes []Change, full bool) (*Snapshot, []error) {
	b.init()
	st := b.st
	if full {
		changes = st.withDeletions(changes)
	}
	slices.SortStableFunc(changes, func(x, y Change) int {
		return cmp.Compare(kindOrder(x.Kind), kindOrder(y.Kind))
	})
	problems := b.Decode(changes, full)
	b.prefetchHosts(changes)

	counts := st.reserve(changes)
	// Routes to compile again because something they refer to changed;
	// the routes written are in written. On a first load nothing refers
	// to anything yet: it stays empty.
	marked := map[string]struct{}{}
	written := map[*config.Kind][]listed{} // ids written or deleted, by kind, in change order
	// The routes written as stored (nil: deleted, or stored in another
	// form), in the same order as written[config.Routes].
	writtenConfs := make([]*routeConf, 0, counts[config.Routes])
	for i, c := range changes {
		if c.Item != nil && c.Obj == nil {
			continue // invalid or unchanged: nothing to do
		}
		b.store(c, c.Obj, marked, &problems)
		if c.Kind == config.Routes {
			rc, _ := c.Obj.(*routeConf)
			writtenConfs = append(writtenConfs, rc)
		}
		changes[i].Obj = nil // stored: the change need not keep it alive
		if written[c.Kind] == nil {
			written[c.Kind] = make([]listed, 0, counts[c.Kind])
		}
		written[c.Kind] = append(written[c.Kind], listed{c.ID, c.Item})
		b.tick(i)
	}
	routes := written[config.Routes]
	// When the routes written are all there is to compile, in order (a
	// first load from etcd), compileRoutes takes their confs from here:
	// looking each up again in a map of a million, in hash order, was
	// half a second of a 1M-route load.
	confs := writtenConfs
	if !inIDOrder(routes) {
		routes, confs = sortedChanges(routes), nil
	}
	if len(marked) > 0 {
		confs = nil
	}
	b.compileRoutes(dirtyRoutes(routes, marked), confs, &problems)
	if st.globalsDirty {
		b.compileGlobals(&problems)
	}
	if st.indexDirty {
		b.compileIndex(&problems)
	}
	st.routeItems = st.routeItems.apply(routes)
	st.services = st.services.apply(sortedChanges(written[config.Services]))
	st.upstreamL = st.upstreamL.apply(sortedChanges(written[config.Upstreams]))
	snap := st.snapshot(version)
	snap.retired = b.nodes.retired
	return snap, problems
}

// reserve makes the empty maps of a first load as large as the load, and
// returns the number of changes by kind. Growing them to a million
// entries one rehash at a time was a tenth of a 1M-route load; so was
// growing the set of routes that name one upstream.
func (st *state) reserve(changes []Change) map[*config.Kind]int {
	counts := map[*config.Kind]int{}
	// Routes about to refer to each upstream and service, by id: keyed by
	// string, as hashing a depKey per route cost more than the lookups
	// this replaced.
	upstreams, services := map[string]int{}, map[string]int{}
	for _, c := range changes {
		counts[c.Kind]++
		if rc, ok := c.Obj.(*routeConf); ok {
			upstreams[rc.UpstreamID]++
			services[rc.ServiceID]++
		}
	}
	for k, n := range counts {
		if len(st.objs[k]) == 0 && n > 1024 {
			st.objs[k] = make(map[string]stored, n)
		}
	}
	if n := counts[config.Routes]; len(st.entries) == 0 && n > 1024 {
		st.entries = make(map[string]*Route, n)
	}
	st.reserveUsers(upstreamRef, upstreams)
	st.reserveUsers(config.Services, services)
	return counts
}

// reserveUsers sizes the empty sets of routes about to refer to an object
// of kind (by id) when they are large.
func (st *state) reserveUsers(kind *config.Kind, users map[string]int) {
	for id, n := range users {
		if k := (depKey{kind, id}); id != "" && n > 1024 && len(st.users[k]) == 0 {
			st.users[k] = make(map[string]struct{}, n)
		}
	}
}

// tick calls progress every 8192nd i.
func (b *Builder) tick(i int) {
	if b.progress != nil && i&8191 == 8191 {
		b.progress()
	}
}

func (b *Builder) init() {
	if b.st == nil {
		b.st = newState(b.Mode)
		b.nodes.retired = &Retirements{}
	}
}

// withDeletions adds a delete for every stored object a full listing lacks.
func (st *state) withDeletions(changes []Change) []Change {
	stored := 0
	for _, k := range config.Kinds {
		stored += len(st.objs[k])
	}
	if stored == 0 {
		return changes // a first load: nothing to delete
	}
	listed := make(map[depKey]bool, len(changes))
	for _, c := range changes {
		listed[depKey{c.Kind, c.ID}] = true
	}
	for _, k := range config.Kinds {
		// Only the ids deleted are sorted: a re-list of 1M routes with
		// none deleted sorts nothing.
		var gone []string
		for id := range st.objs[k] {
			if !listed[depKey{k, id}] {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone)
		for _, id := range gone {
			changes = append(changes, Change{Kind: k, ID: id})
		}
	}
	return changes
}

// storedItem returns the item stored for kind k and id, or nil. It only
// reads: safe from several goroutines while nothing applies.
func (b *Builder) storedItem(k *config.Kind, id string) *Item {
	if b.st == nil {
		return nil
	}
	return b.st.objs[k][id].item
}

func kindOrder(k *config.Kind) int { return slices.Index(config.Kinds, k) }

// Decode decodes every change that needs it, in place, in parallel when
// there are many (a full load of 100K routes): it sets Obj, or marks the
// change to be skipped (an invalid item, whose last good version stays; with
// full, an item whose ModRev is unchanged). Apply calls it for changes it
// is given undecoded; a source may call it earlier, on part of a listing
// while it fetches the rest. It returns one error per invalid item. Call it
// from the goroutine that calls Apply.
func (b *Builder) Decode(changes []Change, full bool) []error {
	b.init()
	var todo []int
	for i := range changes {
		c := &changes[i]
		switch {
		case c.Item == nil || c.Obj != nil || c.skip:
		case full && b.unchanged(*c):
			c.skip = true
		default:
			todo = append(todo, i)
		}
	}
	errs := make([]error, len(changes))
	// scratch is the worker's route, made for its first: routes are
	// decoded into it and slimmed (copied out) at once, so a load
	// allocates no config.Route.
	work := func(i int, scratch **config.Route) {
		c := &changes[i]
		var obj config.Object
		var err error
		if c.Kind == config.Routes {
			if *scratch == nil {
				*scratch = &config.Route{}
			}
			obj, err = *scratch, b.Pipeline.LoadRoute(c.ID, c.Item.Value, *scratch)
		} else {
			obj, err = b.Pipeline.Load(c.Kind, c.ID, c.Item.Value)
		}
		if err != nil {
			c.skip = true
			errs[i] = fmt.Errorf("%s: %w; keeping the last valid version", c.Item.Key, err)
			return
		}
		c.Obj = slim(obj)
	}
	// Parallel only across CPUs: the gateway runs one P more than its
	// event loops (cmd/sluice spareP), and two decoders sharing one CPU
	// only added switching to a load.
	workers := min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	if len(todo) < 512 || workers == 1 {
		var scratch *config.Route
		for _, i := range todo {
			work(i, &scratch)
		}
	} else {
		var wg stdsync.WaitGroup
		next := make(chan int, 256)
		for range workers {
			wg.Go(func() {
				var scratch *config.Route
				for i := range next {
					work(i, &scratch)
				}
			})
		}
		for _, i := range todo {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	var problems []error
	for _, err := range errs {
		if err != nil {
			problems = append(problems, err)
		}
	}
	return problems
}

func (b *Builder) unchanged(c Change) bool {
	old := b.st.objs[c.Kind][c.ID].item
	return old != nil && c.Item.ModRev != 0 && old.ModRev == c.Item.ModRev
}

// store records one change and marks the routes it affects, other than
// the route it writes.
func (b *Builder) store(c Change, obj config.Object, marked map[string]struct{}, problems *[]error) {
	st := b.st
	obj = slim(obj)
	if rc, ok := obj.(*routeConf); ok && c.Item != nil {
		rc.seq = c.Item.CreateRev // only the builder reads it
	}
	if c.Item == nil {
		delete(st.objs[c.Kind], c.ID)
	} else {
		st.objs[c.Kind][c.ID] = stored{item: c.Item, obj: obj}
	}
	markUsers := func(k depKey) {
		for id := range st.users[k] {
			marked[id] = struct{}{}
		}
	}
	switch c.Kind {
	case config.Upstreams:
		old := st.upstreams[c.ID]
		var cu *Upstream
		if c.Item == nil {
			delete(st.upstreams, c.ID)
		} else {
			cu = b.compileUpstream(config.Upstreams.Name+"/"+c.ID, obj.(*config.Upstream))
			st.upstreams[c.ID] = cu
		}
		st.upTable.set(c.ID, cu)
		b.releaseUpstream(old)
		// Plugins compile the upstream in (traffic-split): always again.
		// Routes naming it (or their service naming it) read it from the
		// table: again only if it appeared or went (502 either side).
		markUsers(depKey{config.Upstreams, c.ID})
		if (old == nil) != (cu == nil) {
			markUsers(depKey{upstreamRef, c.ID})
			for svc := range st.svcOf[c.ID] {
				markUsers(depKey{config.Services, svc})
			}
		}
	case config.Services:
		b.storeService(c, obj)
		markUsers(depKey{config.Services, c.ID})
	case config.PluginConfigs:
		markUsers(depKey{config.PluginConfigs, c.ID})
	case config.SSLs:
		// Upstreams presenting this ssl as their client certificate
		// (tls.client_cert_id) compile again; route-inline ones compile
		// with their routes, after every store.
		b.storeSSLUsers(c.ID, marked, problems)
	case config.GlobalRules:
		st.globalsDirty = true
	case config.Consumers, config.Credentials, config.ConsumerGroups, config.PluginMetadata:
		st.indexDirty = true
	case config.LuaPlugins:
		b.storeLuaPlugin(c, obj, problems)
		markUsers(depKey{config.LuaPlugins, c.ID})
		st.globalsDirty, st.indexDirty = true, true
	}
}

// storeLuaPlugin loads (or unloads) a Lua plugin written to etcd into the
// registry; the routes naming it are recompiled by the caller.
func (b *Builder) storeLuaPlugin(c Change, obj config.Object, problems *[]error) {
	if b.Plugins == nil {
		return
	}
	src := ""
	if lp, ok := obj.(*config.LuaPlugin); ok && c.Item != nil {
		src = lp.Source
	}
	if err := b.Plugins.SetEtcdLua(c.ID, src); err != nil {
		*problems = append(*problems, fmt.Errorf("lua plugin %s: %w; the previous version stays", c.ID, err))
	}
}

// RecompileAll compiles every route, the global rules and the consumers
// again (after plugins reload changed what the registry runs) and returns
// the resulting snapshot.
func (b *Builder) RecompileAll(version int64) (*Snapshot, []error) {
	b.init()
	st := b.st
	var problems []error
	b.compileRoutes(sortedKeys(st.objs[config.Routes]), nil, &problems)
	b.compileGlobals(&problems)
	b.compileIndex(&problems)
	snap := st.snapshot(version)
	snap.retired = b.nodes.retired
	return snap, problems
}

func (b *Builder) storeService(c Change, obj config.Object) {
	st := b.st
	for up, svcs := range st.svcOf {
		delete(svcs, c.ID)
		if len(svcs) == 0 {
			delete(st.svcOf, up)
		}
	}
	// Released after the new version is compiled, so a checker the two
	// versions share keeps its state.
	defer b.releaseUpstream(st.svcUpstream[c.ID])
	delete(st.svcUpstream, c.ID)
	if c.Item == nil {
		return
	}
	svc := obj.(*config.Service)
	if svc.Upstream != nil {
		st.svcUpstream[c.ID] = b.compileUpstream(config.Services.Name+"/"+c.ID, svc.Upstream)
	} else if !svc.UpstreamID.IsZero() {
		addTo(st.svcOf, svc.UpstreamID.S, c.ID)
	}
}

// compileGlobals compiles the global rules into one chain. While one names
// a plugin sluice does not run, every request answers 503: failing closed.
func (b *Builder) compileGlobals(problems *[]error) {
	st := b.st
	st.globalsDirty = false
	st.globals, st.failClosed = nil, nil
	rules := map[string]*config.PluginSet{}
	for id, s := range st.objs[config.GlobalRules] {
		rules[id] = s.obj.(*config.PluginSet)
	}
	if len(rules) == 0 {
		return
	}
	if b.Plugins == nil {
		for _, id := range sortedKeys(rules) {
			if len(rules[id].Plugins) > 0 {
				err := config.UnknownPlugin(rules[id].Plugins.Names()[0])
				*problems = append(*problems, fmt.Errorf("global rule %s: %w; every request answers 503 until it is removed", id, err))
				st.failClosed = &Route{ID: "global_rule/" + id, Status: http.StatusServiceUnavailable, Err: err}
				return
			}
		}
		return
	}
	env := &plugin.Env{Owner: "/apisix/global_rules", Logger: b.Logger}
	ch, errs := b.Plugins.GlobalChain(env, rules)
	for _, err := range errs {
		if errors.Is(err, config.ErrUnknownPlugin) {
			*problems = append(*problems, fmt.Errorf("global rules: %w; every request answers 503 until it is removed", err))
			st.failClosed = &Route{ID: "global_rules", Status: http.StatusServiceUnavailable, Err: err}
			return
		}
		*problems = append(*problems, fmt.Errorf("global rules: %w", err))
	}
	st.globals = ch
}

// compileIndex compiles consumers, credentials and plugin metadata into
// the index auth plugins and metadata readers use at run time.
func (b *Builder) compileIndex(problems *[]error) {
	st := b.st
	st.indexDirty = false
	if b.Plugins == nil {
		st.index = nil
		return
	}
	in := plugin.IndexInput{Groups: map[string]*config.PluginSet{}, Env: &plugin.Env{Logger: b.Logger}}
	for _, s := range st.objs[config.Consumers] {
		in.Consumers = append(in.Consumers, s.obj.(*config.Consumer))
	}
	for _, s := range st.objs[config.Credentials] {
		in.Credentials = append(in.Credentials, s.obj.(*config.Credential))
	}
	for id, s := range st.objs[config.ConsumerGroups] {
		in.Groups[id] = s.obj.(*config.PluginSet)
	}
	for _, s := range st.objs[config.PluginMetadata] {
		in.Metadata = append(in.Metadata, s.obj.(*config.Metadata))
	}
	idx, errs := b.Plugins.BuildIndex(in)
	*problems = append(*problems, errs...)
	st.index = idx
}

// dirtyRoutes returns the ids of the routes to compile again, sorted, each
// once: those written (sorted changes) and those marked. With none marked,
// as on a first load, that is written's ids as they are: a million-entry
// set of them, then sorted, was half a second of a 1M-route load (issue
// 13).
func dirtyRoutes(written []listed, marked map[string]struct{}) []string {
	ids := make([]string, len(written), len(written)+len(marked))
	for i, w := range written {
		ids[i] = w.id
	}
	if len(marked) == 0 {
		return ids
	}
	for id := range marked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// compileRoutes compiles again the routes with the ids given (sorted, each
// once) and brings the router up to date, path-copying route by route or
// rebuilding when most changed. confs, when not nil, holds what is stored
// for each id (nil where it must be looked up: a route deleted).
func (b *Builder) compileRoutes(ids []string, confs []*routeConf, problems *[]error) {
	st := b.st
	if len(ids) == 0 {
		return
	}
	rebuild := len(ids) > len(st.entries)/rebuildFraction
	// The routes compiled here, in order, for a rebuild (see below).
	var compiled []*Route
	if rebuild {
		compiled = make([]*Route, 0, len(ids))
	}
	// With no entries yet (a first load) no id has an old one: looking
	// each up in the map (sized for the whole load) missed the cache on
	// every one.
	first := len(st.entries) == 0
	for i, id := range ids {
		b.tick(i)
		var old *Route
		if !first {
			old = st.entries[id]
		}
		if old != nil {
			st.removeUsers(id, old)
		}
		var rc *routeConf
		if confs != nil {
			rc = confs[i]
		}
		if rc == nil {
			if s, ok := st.objs[config.Routes][id]; ok {
				rc = s.obj.(*routeConf)
			}
		}
		var next *Route
		if rc != nil {
			var err error
			next, err = b.compileRoute(rc)
			if err != nil {
				*problems = append(*problems, fmt.Errorf("%s: %w", st.objs[config.Routes][id].item.Key, err))
			}
			if next != nil {
				st.addUsers(id, next)
			}
		}
		if next != nil && next.Status != 0 && next.Err != nil {
			*problems = append(*problems, fmt.Errorf("route %s: %w; it answers %d", id, next.Err, next.Status))
		}
		switch {
		case next == nil:
			delete(st.entries, id)
		default:
			st.entries[id] = next
			if rebuild {
				compiled = append(compiled, next)
			}
		}
		if old != nil {
			b.releaseRoute(old)
		}
		if rebuild || (old == nil && next == nil) {
			continue
		}
		var oe, ne *trie.Route[*Route]
		if old != nil {
			e := old.routerEntry()
			oe = &e
		}
		if next != nil {
			e := next.routerEntry()
			ne = &e
		}
		r, err := st.router.Update(oe, ne)
		if err != nil {
			// Paths were vetted by CheckPaths; keep the old router
			// rather than publish a half-updated one.
			*problems = append(*problems, fmt.Errorf("route %s: updating the router: %w", id, err))
			continue
		}
		st.router = r
	}
	if rebuild {
		// The routes in the order they were compiled (and allocated) in,
		// when every one was: walking a million in map order missed the
		// cache on nearly every one.
		all := slices.Values(compiled)
		if len(compiled) < len(st.entries) { // some routes were not dirty
			all = maps.Values(st.entries)
		}
		r, err := trie.Build(b.Mode, func(yield func(*trie.Route[*Route]) bool) {
			var e trie.Route[*Route] // one for all: the router keeps none
			for rt := range all {
				e = rt.routerEntry()
				if !yield(&e) {
					return
				}
			}
		})
		if err != nil {
			*problems = append(*problems, fmt.Errorf("building the router: %w; serving nothing rather than half the routes", err))
			r, _ = trie.New[*Route](b.Mode, nil)
		}
		st.router = r
	}
}

// compileRoute resolves a route against its service, upstream and plugin
// config as APISIX does at request time. It returns nil for a route that
// is not routable (status 0, or one that cannot be stored), with an error
// saying why when that is a problem.
func (b *Builder) compileRoute(rc *routeConf) (*Route, error) {
	if !rc.Enabled() {
		return nil, nil
	}
	st := b.st
	r := &Route{ID: rc.ID, Name: rc.Name, ServiceID: rc.ServiceID, conf: rc}
	var svc *config.Service
	var pc *config.PluginSet
	if rc.ServiceID != "" {
		if s, ok := st.objs[config.Services][rc.ServiceID]; ok {
			svc = s.obj.(*config.Service)
			if len(rc.Hosts) == 0 && len(svc.Hosts) > 0 {
				r.moreRefs().hosts = svc.Hosts
			}
		} else {
			r.Status, r.Err = http.StatusNotFound, fmt.Errorf("service %s not found", rc.ServiceID)
		}
	}
	if rc.PluginConfigID != "" {
		if s, ok := st.objs[config.PluginConfigs][rc.PluginConfigID]; ok {
			pc = s.obj.(*config.PluginSet)
		} else if r.Status == 0 {
			r.Status, r.Err = http.StatusServiceUnavailable, fmt.Errorf("plugin config %s not found", rc.PluginConfigID)
		}
	}
	if err := b.Mode.CheckPaths(rc.Paths...); err != nil {
		return nil, err
	}
	if rc.FilterFunc != "" {
		if b.FilterFunc == nil {
			return nil, ErrFilterFuncUnsupported
		}
		f, err := b.FilterFunc(rc.FilterFunc)
		if err != nil {
			return nil, fmt.Errorf("filter_func: %w", err)
		}
		r.moreRefs().filter = f
	}
	if r.Status != 0 {
		return r, nil
	}
	plugins, owners := mergePlugins(rc, svc, pc)
	for name := range plugins {
		// A plugin loaded later (Lua, from etcd) recompiles the route.
		pr := r.moreRefs()
		pr.deps = append(pr.deps, depKey{config.LuaPlugins, name})
	}
	if svc != nil {
		r.ServiceName = svc.Name
	}
	if len(plugins) > 0 {
		if err := b.compilePlugins(r, plugins, owners); err != nil {
			// Fail closed: a route never runs without a plugin it names.
			r.Status, r.Err = http.StatusServiceUnavailable, err
			return r, nil
		}
	}
	switch {
	case rc.Upstream != nil:
		r.own = b.routeUpstream(rc.ID, rc.Upstream)
		r.ownsUpstream = true
	case rc.UpstreamID != "":
		if slot, ok := st.upTable.slotOf(rc.UpstreamID); ok {
			r.upSlot = slot + 1
		} else {
			r.Status, r.Err = http.StatusBadGateway, fmt.Errorf("upstream %s not found", rc.UpstreamID)
		}
	case svc != nil && svc.Upstream != nil:
		r.own = st.svcUpstream[rc.ServiceID]
	case svc != nil && !svc.UpstreamID.IsZero():
		if slot, ok := st.upTable.slotOf(svc.UpstreamID.S); ok {
			r.upSlot = slot + 1
		} else {
			r.Status, r.Err = http.StatusBadGateway, fmt.Errorf("upstream %s of service %s not found", svc.UpstreamID.S, svc.ID.S)
		}
	default:
		r.Status = statusNoUpstream
	}
	if rc.Timeout != nil {
		r.Timeout = timeoutsOf(rc.Timeout)
		r.OwnTimeout = true
	}
	return r, nil
}

// mergePlugins returns the plugin confs that run on a route: its own over
// its plugin config's over its service's, as APISIX merges them
// (plugin_config.lua merge, merge_service_route), and where those not the
// route's own came from (plugin.Env's Owners). Both are nil for a route
// that runs none, as most of a large table do: it allocates nothing then.
func mergePlugins(rc *routeConf, svc *config.Service, pc *config.PluginSet) (map[string]json.RawMessage, map[string]string) {
	var svcConfs, pcConfs config.Plugins
	if svc != nil {
		svcConfs = svc.Plugins
	}
	if pc != nil {
		pcConfs = pc.Plugins
	}
	n := len(svcConfs) + len(pcConfs) + len(rc.Plugins)
	if n == 0 {
		return nil, nil
	}
	plugins := make(map[string]json.RawMessage, n)
	owners := map[string]string{}
	for name, conf := range svcConfs {
		plugins[name], owners[name] = conf, "/apisix/services/"+rc.ServiceID
	}
	for name, conf := range pcConfs {
		plugins[name], owners[name] = conf, "/apisix/plugin_configs/"+rc.PluginConfigID
	}
	for name, conf := range rc.Plugins {
		plugins[name] = conf
		delete(owners, name)
	}
	return plugins, owners
}

// compilePlugins compiles a route's merged plugin confs into its chain;
// owners says which of them came from its service or plugin config.
// Upstreams its plugins compile (traffic-split) are owned by the route;
// upstreams they refer to by id become dependencies of the route.
func (b *Builder) compilePlugins(r *Route, plugins map[string]json.RawMessage, owners map[string]string) error {
	if b.Plugins == nil {
		return config.UnknownPlugin(slices.Min(slices.Collect(maps.Keys(plugins))))
	}
	ups := &routeUpstreams{b: b, r: r}
	env := &plugin.Env{Owner: "/apisix/routes/" + r.ID, Logger: b.Logger, Upstreams: ups}
	if len(owners) > 0 {
		env.Owners = owners
	}
	ch, err := b.Plugins.Compile(env, plugins)
	if err != nil {
		b.releaseRoute(r)
		if r.refs != nil {
			r.refs.upstreams = nil
		}
		return err
	}
	r.Plugins = ch
	return nil
}

// routeUpstreams is plugin.Upstreams for one route being compiled.
type routeUpstreams struct {
	b *Builder
	r *Route
}

func (u *routeUpstreams) Compile(conf []byte) (any, error) {
	obj, err := u.b.Pipeline.Load(config.Upstreams, "plugin", conf)
	if err != nil {
		return nil, err
	}
	cu := u.b.compileUpstream(config.Routes.Name+"/"+u.r.ID, obj.(*config.Upstream))
	pr := u.r.moreRefs()
	pr.upstreams = append(pr.upstreams, cu)
	return cu, nil
}

func (u *routeUpstreams) Find(id string) (any, error) {
	pr := u.r.moreRefs()
	pr.deps = append(pr.deps, depKey{config.Upstreams, id})
	if cu := u.b.st.upstreams[id]; cu != nil {
		return cu, nil
	}
	return nil, fmt.Errorf("failed to find upstream by id: %s", id)
}

// releaseRoute gives back the upstreams a route owned.
func (b *Builder) releaseRoute(r *Route) {
	if r.ownsUpstream {
		b.releaseRouteUpstream(r.own)
	}
	if r.refs != nil {
		for _, u := range r.refs.upstreams {
			b.releaseUpstream(u)
		}
	}
}

func (st *state) snapshot(version int64) *Snapshot {
	return &Snapshot{
		Version:     version,
		GlobalRules: st.globals,
		Plugins:     st.index,
		router:      st.router,
		upTable:     st.upTable.publish(),
		failClosed:  st.failClosed,
		routeItems:  st.routeItems,
		services:    st.services,
		upstreams:   st.upstreamL,
	}
}

func timeoutsOf(t *config.Timeout) Timeouts {
	return Timeouts{Connect: t.Connect.Duration(), Send: t.Send.Duration(), Read: t.Read.Duration()}
}

func addTo(m map[string]map[string]struct{}, k, v string) {
	if m[k] == nil {
		m[k] = map[string]struct{}{}
	}
	m[k][v] = struct{}{}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
