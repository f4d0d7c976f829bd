// Package balancer owns upstream node selection: given an upstream's nodes,
// which one serves the next request, and which one a retry goes to.
//
// A Picker is built once per upstream per config version (in the snapshot)
// and is then immutable except for per-loop cursors: loop i only ever
// touches cursor i, so picking takes no lock and no atomic, and loops do not
// share cache lines. That matches APISIX, whose round-robin state is per
// worker and restarts when the upstream changes.
//
// It refuses to own connections, health state or timeouts (engine does).
// Only roundrobin is implemented; chash, ewma and least_conn upstreams are
// served round-robin (their config.Upstream.Balancer still says what was
// asked for).
package balancer
