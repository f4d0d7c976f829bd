// Package sync owns the running configuration: where it comes from (an
// etcd prefix in APISIX's layout, or a standalone apisix.yaml file), how the
// decoded objects are compiled into an immutable Snapshot (router, resolved
// upstreams with their pickers; plugin chains once the plugin runtime
// lands), and the RCU Store that publishes each new Snapshot with one
// atomic pointer swap.
//
// It refuses to own running etcd (package embedetcd starts the in-process
// server; sync is only ever its client, as of any cluster) and what makes
// an object valid (package config's validation pipeline, which the Builder
// runs every object through, as the Admin API does for writes).
//
// # Sources
//
// EtcdSource reads the prefix at one revision (a RangeStream, or ranged Gets
// page by page from an etcd before 3.7), then watches it from the next
// revision; a compaction, a revision that went backwards or any error
// makes it list everything again. YAMLSource polls apisix.yaml and reloads
// it whole, all or nothing; an object whose JSON and place in the file are
// unchanged keeps its stored (already validated) version and is neither
// decoded nor compiled again, as an unchanged item of an etcd re-list is
// not. Both decode objects with the Builder's Pipeline (Load): an object
// etcd would refuse, the file refuses too. An invalid object from etcd is
// skipped and its last good version kept, as APISIX does; a file with any
// invalid object is refused whole. The Builder then applies the changes to
// the previous Snapshot, sharing everything they did not touch.
//
// Upstream nodes named by host, and discovery_type dns services, are
// resolved while their upstream compiles (Builder.Resolver, package
// discovery), so a Snapshot only holds addresses. When an answer changes,
// the Resolver signals DNSChanges and the source calls RefreshDNS on its
// goroutine, which compiles the upstreams using that name again. Upstream
// TLS settings (https: verification, client certificate) compile into a
// tls.Config per upstream version; nodes are pooled under their address
// and, for https, that TLS identity.
//
// # Memory at scale (issue 13)
//
// What the Builder keeps per route is sized for a million of them: the
// route as stored (Item), a routeConf with only the fields compileRoute
// reads (the decoded config.Route is dropped as soon as an object is
// decoded), the compiled Route, and the router's record of it; the
// trie.Route the router is given is built from the routeConf when it is
// handed over and not kept (Route.routerEntry). A route's
// dependencies (upstream, service, plugin config, plugins' upstreams) are
// read from its compiled form; only routes that compiled have any.
// Identical inline upstreams are compiled once and shared, counted per
// route (intern.go), when their compiled form depends on their config
// alone. A route naming its upstream by id (or through its service) keeps
// a slot of the snapshot's upstream table (uptable.go, Snapshot.UpstreamOf),
// so a change to that upstream replaces one table entry and compiles no
// route again, however many use it. A first full load runs the collector less often until the live
// heap is large, then as usual, and returns what it freed to the system
// once published (loadgc.go).
//
// # Concurrency
//
// One writer, many readers. Sources run on their own goroutine and are the
// only callers of Store.Publish; request code on every event loop calls
// Store.Load once per request and never locks. A Snapshot and everything it
// points to are immutable after publication; the garbage collector frees an
// old one when the last request holding it finishes.
//
// State that must survive a reload (keepalive pools, balancer cursors and
// load, health) is not in the Snapshot. Nodes and compiled upstreams carry
// a Ref (slots.go): the same address keeps its Ref while any configuration
// lists it, slots are reused once none does, and a generation tells a
// slot's owners apart, so each event loop keeps such state in tables it
// sizes itself, indexed by slot, and closes idle connections to retired
// nodes on its tick.
//
// # Events
//
// A Source reports what it did through Events (snapshot published, config
// rejected, a problem with an object); tests wait on these instead of
// sleeping, and logging is one listener among others.
package sync
