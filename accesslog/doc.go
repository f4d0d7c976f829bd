// Package accesslog owns the access log: nginx's access_log as APISIX
// configures it (nginx_config.http.enable_access_log, access_log,
// access_log_format, access_log_format_escape, access_log_buffer). It is
// not a plugin in APISIX and is not one here: the engine hands it every
// request once the request's log phase is over (engine.Options.AccessLog,
// one call in the engine's logRequest), however the request ended (404,
// 502, the client gone: 499).
//
// It refuses to own what a variable means (the request context,
// internal/reqctx, answers c.Value) and when a request is over (engine).
// It sits outside plugin/ and engine/ because it is neither: it is shared
// by the engine (which calls it through an interface of its own) and
// cmd/sluice (which builds it from config.yaml); it imports only expr and
// the request context.
//
// # Format
//
// The format is compiled once (Compile): literal text and "$name" or
// "${name}" variables. The default is APISIX's (DefaultFormat: nginx's
// combined format plus $http_host, $request_time, the upstream variables
// and $apisix_request_id). Variables are the request context's (APISIX's
// ctx.var, nginx's meaning), plus a few only the log knows: $request (the
// request line as sent), $remote_user (from Basic authorization),
// $time_local and $time_iso8601 (rendered once per second per loop),
// $request_id / $apisix_request_id (32 random hex digits per request, from
// a per-loop ChaCha8). A variable sluice does not have is reported once at
// start-up and logs as absent.
//
// Escaping is nginx's log_format escape= (access_log_format_escape):
// default writes '"', '\', control and non-ASCII bytes as \xHH and "-" for
// an absent value; json escapes as JSON string content and writes nothing
// for an absent value — the way to get JSON lines is APISIX's: a format
// shaped as a JSON object with escape json; none writes values as they are.
//
// # Never blocking a loop
//
// Each event loop formats its line into its own scratch buffer and copies
// it into its own ring (RingSize bytes, 256 KiB by default): a
// single-producer, single-consumer byte queue shared only with the writer
// goroutine, through two atomic offsets. The loop never waits: when a
// buffer's worth (access_log_buffer) is pending it wakes the writer with a
// non-blocking send; a quiet loop's lines are picked up every
// FlushInterval (nginx's flush=3). The writer copies every ring's pending
// bytes into one batch and writes it with one write(2). When the writer
// falls behind by a whole ring (a slow disk, a full pipe on /dev/stdout),
// new lines are dropped and counted per loop; the count is logged every
// DropReport (10 s) while it grows, and Dropped returns it. A ring rather
// than handing whole buffers over a channel lets the writer take a quiet
// loop's partial buffer without a lock or a hook on the loop's timer.
//
// # Files
//
// The file is opened for appending (its directory created) relative to the
// working directory; Reopen (SIGUSR1 in cmd/sluice, as nginx's reopen)
// reopens it after rotation; Close writes what is pending.
package accesslog
