// Package sync owns the running configuration: where it comes from (the
// standalone apisix.yaml file today; etcd and embedded etcd next), how the
// decoded objects are compiled into an immutable Snapshot (router, resolved
// upstreams with their pickers, plugin chains), and the RCU Store that
// publishes each new Snapshot with one atomic pointer swap.
//
// # Concurrency
//
// One writer, many readers. Sources run on their own goroutine and are the
// only callers of Store.Publish; request code on every event loop calls
// Store.Load once per request and never locks. A Snapshot and everything it
// points to are immutable after publication; the garbage collector frees an
// old one when the last request holding it finishes.
//
// State that must survive a reload (keepalive pools, balancer health) is not
// in the Snapshot. Nodes carry a stable NodeID (the same address keeps the
// same id across snapshots) so the engine can key such state by identity.
//
// # Events
//
// A Source reports what it did through Events (snapshot published, config
// rejected); tests wait on these instead of sleeping, and logging is one
// listener among others.
package sync
