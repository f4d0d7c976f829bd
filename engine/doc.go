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
//	                  │                 │                      └─▶ closing ─drained─▶ closed
//	                  └─ bad head: error page, close
//
// In proxy: route → rewrite/access hooks → pick a node → pooled connection
// or DialTCP → before_proxy → request head written (client input is
// discarded only once the connection is known established, so a refused
// connect can try the next node) → body streamed → response head parsed →
// header_filter → head and first body bytes in one write → body streamed
// (chunked passes through, or is decoded for HTTP/1.0 clients) → log →
// upstream back to its pool if reusable.
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
