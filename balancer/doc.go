// Package balancer owns upstream node selection: given an upstream's nodes,
// which one serves the next attempt of a request, and which one a retry
// goes to. It implements APISIX's balancers (apisix/balancer/*.lua) —
// roundrobin, chash, ewma, least_conn — and node priority groups for all of
// them, plus the per-node statistics the load-aware ones read.
//
// # Lifecycle
//
// New builds a Picker once per upstream version, into the snapshot (sync
// calls it). A Picker is immutable and safe for concurrent use; it holds
// only what the node set decides: weights, priority groups, chash rings.
// Everything a pick mutates is owned by the event loop that picks:
//
//   - State: one per loop per picker (round-robin cursors, a random source,
//     least_conn's scan offset). Zero value ready; zeroed when the
//     upstream is replaced, so a new version starts fresh, as APISIX's
//     per-worker pickers do.
//   - NodeStats: one per loop per node address (in-flight attempts, a peak
//     EWMA of latency). It is keyed by the node, not the upstream version,
//     so it survives config changes (APISIX #12217); the engine drives it
//     around every attempt: Started, Responded, Finished (see NodeStats).
//
// So picking takes no lock and no atomic and allocates nothing, and loops
// share no cache lines. Each loop balances on its own view: round-robin
// cycles, in-flight counts and latency estimates are per loop (APISIX's are
// per worker, except ewma's, shared through a shm dict under a lock).
//
// # Picking
//
// Pick returns a node index or -1. The caller says which nodes this request
// already tried (never returned again) and which are down (skipped unless
// every untried node is down: then all untried nodes are eligible, as
// APISIX uses every node when all are unhealthy). Nodes of weight 0 are
// never picked, except the node of a one-node upstream, which is returned
// until tried whatever the balancer (APISIX bypasses its balancer there).
// Priority groups are tried highest first; a lower group is used only when
// every node of the higher ones is tried or down.
//
// chash's ring is a pure function of the node set (host:port and weight,
// not their order), so a key maps to the same address from every loop and
// every sluice process; the caller resolves the key (hash_on, key, and
// remote_addr when that comes out empty) and passes it in Request.Key.
//
// # Not here
//
// Pickers do no I/O and never log. Connections, keepalive pools, timeouts
// and retry budgets belong to the engine, as do resolving hash keys from
// request variables and DNS. Health checking decides Request.Down; pickers
// only read that set.
package balancer
