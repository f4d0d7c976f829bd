// Package health owns upstream health checks: which nodes of an upstream
// are down right now, learned from active probes and from real traffic
// (passive checks), with APISIX's semantics (apisix/healthcheck_manager.lua
// over lua-resty-healthcheck): the same checks schema and defaults, the same
// counters and thresholds, the same control API view.
//
// It refuses to own node selection (balancer's pickers skip the Down set
// and fall back to every node when all are down), the request path (the
// engine reports outcomes) and config decoding (config.Checks arrives with
// its defaults filled and its status lists compiled).
//
// # Lifecycle
//
// One Manager per process. The config builder (sync.Builder) calls
// Manager.Acquire when it compiles an upstream that has checks, and
// Manager.Release when that compiled upstream leaves its state, so probes
// start when the upstream appears in the configuration (APISIX starts them
// on the first request) and stop when it goes. Acquire is counted and keyed
// by owner ("upstreams/1", "routes/5" for an inline upstream):
//
//   - same checks, same nodes as a live version: the same *Checker;
//   - same checks, other nodes: a new Checker whose surviving targets keep
//     their state (counters and status), as APISIX 3.18+ keeps them;
//   - other checks: a fresh checker, all targets healthy.
//
// The builder acquires the new version before it releases the old one, so
// an edit that leaves checks alone never resets them. Close stops every
// probe and waits for the goroutines.
//
// # Concurrency
//
// Each group of an owner's checkers sharing one checks config has one
// goroutine: it starts rounds of probes every healthy.interval (for healthy
// and mostly_healthy targets) and every unhealthy.interval (for the others),
// each round on at most active.concurrency goroutines and the Manager's
// MaxProbes slots, every probe step bounded by active.timeout and aborted
// on Release. No probe ever runs on an event loop.
//
// A target's counters and state are one atomic word (four 8-bit counters as
// lua-resty-healthcheck packs them, plus the state); probes and Report move
// it with compare-and-swap. A report that changes the state wakes the
// group's goroutine, which recomputes each checker's Down set and stores it
// in an atomic pointer (copy-on-write), so Down is one atomic load and
// Report takes no lock and allocates nothing.
//
// # What the engine calls
//
// The compiled upstream (sync.Upstream) carries Health, a *Checker that is
// nil when the upstream has no checks (a nil Checker is all-healthy and
// ignores reports, so the engine needs no nil test):
//
//   - Before picking a node for a request: down := up.Health.Down(), passed
//     as balancer.Request.Down. Load it once per request (or once per
//     attempt, to see a node go down between retries); node indexes are
//     indexes into up.Nodes.
//   - After every attempt at node i, including the last one, exactly once:
//     Report(i, HTTPStatus(code)) when the final response head arrived
//     (its status as the upstream sent it, before any plugin rewrites it;
//     not for 1xx interim heads); Report(i, Timeout) when connecting,
//     sending the request or waiting for the response head timed out (the
//     attempt that answers 504); Report(i, TCPFailure) when the connect
//     failed or was refused, the TLS handshake failed, or the connection
//     closed, reset or sent a malformed head before a complete response
//     head (the attempts that answer 502).
//   - Not for attempts the client cut short (client closed first), nor for
//     failures after the head arrived (a body read timeout): the status was
//     already reported.
//
// Report may be called from any event loop; it is a few atomic operations.
// A checker released while a request still holds it keeps accepting
// reports harmlessly.
//
// Differences from APISIX, on purpose: APISIX counts a failed attempt only
// when the balancer retries it (the last attempt's failure is lost) and
// counts the final response status after plugins ran (log phase); sluice
// counts every attempt and the upstream's own status. Both count HTTP
// statuses only when checks.passive is configured, and TCP failures and
// timeouts always, against the passive thresholds. Active probes honour
// http_method and http_req_body (lua-resty-healthcheck always sends GET
// without a body).
package health
