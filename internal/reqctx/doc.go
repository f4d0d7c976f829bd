// Package reqctx owns the request context: what a plugin hook (Go or Lua)
// sees of one request, from dispatch to the end of its log phase. It is the
// seam between the engine, which owns connections and fills the context,
// and the plugin and lua packages, which read and edit it.
//
// # What a context holds
//
//   - The request: its head, copied out of the read buffer when it is
//     parsed so that every phase (log included) reads it; APISIX's
//     variables (Var, which also makes a Ctx an expr.Vars); request edits
//     (headers, uri, args, method, upstream Host) that the engine applies
//     when it writes the request upstream.
//   - The route, service and consumer the request was matched to and
//     authenticated as, and the snapshot's consumers and plugin metadata
//     (Config).
//   - The response: its status, the upstream's head while header_filter
//     runs, response header edits applied when the head is written, and
//     whether body filters rewrite the body.
//   - Per-request plugin scratch (Local), the loop's plugin storage (Loop),
//     and timing.
//
// It refuses to own how requests are read, routed or proxied (engine), and
// what plugins exist or in which order they run (plugin).
//
// # Lifetime and concurrency
//
// A Ctx is embedded in a client connection's state and reused for each of
// its requests (Reset). It belongs to one event loop: every method is
// loop-only, and nothing returned may be kept past the request. Byte slices
// returned by getters are valid until the next call that edits the context
// or, for Var, until the next Var call. Hooks that block hand their work to
// a Job (Park), whose Run must not touch the Ctx.
//
// # Cost
//
// Nothing here allocates once a connection's buffers have grown: edits are
// appended to an arena that Reset truncates, and numbers are formatted into
// a scratch buffer.
package reqctx
