// Package engine owns the data path: gnet event loops that accept client
// connections, parse requests (http1), route them on the current snapshot
// (sync, trie), run the plugin phase hooks (plugin), and relay them to
// upstream connections kept per loop, per node.
//
// It refuses to own configuration (sync builds snapshots; the engine only
// loads one per request), parsing rules (http1) and node selection
// (balancer).
//
// # Concurrency
//
// One event loop per core (Options.Loops), SO_REUSEPORT listeners, each
// loop its own goroutine. A request is served on its loop from the first
// byte to the last: its upstream connection is dialled on that loop
// (gnet EventLoop.DialTCP, a non-blocking connect to the node's address,
// which the config builder resolved; TLS handshakes, and host names that
// did not resolve, go through a small dialer pool and EventLoop.Enroll)
// and every callback of both connections runs there, so connection state
// needs no locks. Per-loop
// state (loop) holds the timing wheel, idle pools, scratch buffers and free
// lists; nothing on the request path allocates once warm.
//
// # Lifecycle of an exchange (clientConn)
//
//	idle ──bytes──▶ head ──parsed──▶ proxy ──response done──▶ idle (keep-alive)
//	                  │                 │                      ├─▶ discard ─body read─▶ idle
//	                  │                 │                      └─▶ closing ─drained─▶ closed
//	                  └─ bad head: error page, close
//
// A parsed head is copied into the connection's request context
// (internal/reqctx), which plugins read and edit in every phase up to log.
// Dispatch routes it on the snapshot loaded once for the request, then a
// resumable stage runner (dispatch.go) runs APISIX's phases: global rules'
// rewrite, the route's rewrite, the consumer's plugins merged in after
// authentication, access (global, route), the balancer's pick, before_proxy;
// a hook may end the request (its answer, like every answer the gateway
// makes itself, passes header_filter and body_filter: reply.go) or park it
// (its blocking work runs on a bounded worker pool; the request resumes on
// this loop through EventLoop.Execute, or only logs if the client left).
// Then: a pooled connection or DialTCP → request head written with the
// plugins' edits (client input is discarded only once the connection is
// known established, so a refused connect can try the next node) → body
// streamed → response head parsed → header_filter → head and first body
// bytes in one write → body streamed as is (chunked passes through, or is
// decoded for HTTP/1.0 clients), or, when a body filter rewrites it,
// decoded, filtered and framed anew → log (exactly once per request, 499
// when the client went away) → upstream back to its pool if reusable.
//
// A response that ends before its request body (an upstream's early 401) is
// never followed by parsing the rest of the body as a request: it is read
// and dropped within bounds (phaseDiscard), or the connection closes with a
// lingering close.
//
// # Attempts (attempt.go)
//
// An attempt is one try of the request on one node. The balancer picks the
// node with the upstream's Down set (health checks), the loop's NodeStats
// and, for chash, the key compiled from hash_on/key; each attempt is
// bracketed for NodeStats (Started, Responded, Finished exactly once) and
// reported once to the health checker. Connect errors, timeouts and resets
// before the response head move to an untried node while retries last,
// if the request can be sent again (held input, or an idempotent request
// kept whole); HTTP statuses are never retried. attempt.go has the rules.
//
// # TLS upstreams (tls.go)
//
// The handshake runs on a dialer goroutine; the socket is then enrolled on
// the loop and crypto/tls runs there over memory, never blocking.
//
// gnet can call OnClose inside Write, and an upstream can close while a
// client handler runs. Entry points bracket their work with enter/leave;
// such events only set flags that the outermost leave acts on, so no code
// runs on state that vanished under it.
//
// # Per-loop state
//
// Each loop keeps its own tables, sized by itself: per upstream node (idle
// pool, load statistics) and per compiled upstream (balancer cursor,
// keepalive settings), indexed by the sync.Ref slots the snapshot carries
// and reset when a slot changes hands (nodes.go); the plugins' per-loop
// storage (reqctx.Loop); free lists of connection state.

// # Bounded memory
//
// gnet reads every readable socket and buffers without limit; the vendored
// patch (third_party/gnet/PATCH.md) adds PauseRead/ResumeRead and a drain
// hook. When one side's queued output passes Options.HighWater the other
// side's reads pause until the queue drains, so TCP flow control pushes
// back on the fast peer. Held client input (pipelined requests, bytes sent
// during a connect) is capped by Options.MaxBufferedInput the same way.
//
// # Timeouts
//
// A hashed timing wheel per loop, driven by ticks the server's ticker hands
// each loop through EventLoop.Execute: client header, body, keep-alive and
// send timeouts; upstream connect, send, read and pool-idle timeouts
// (APISIX semantics: connect refused → 502, timeout → 504, either retried
// on another node when the request allows).
//
// # Shutdown
//
// Shutdown stops accepting (gnet patch StopAccepting), closes idle client
// connections, lets busy ones finish their response with Connection: close,
// and stops the loops when none is left or the grace period ends.
package engine
