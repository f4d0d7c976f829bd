// Package faultinjection is APISIX's fault-injection plugin (priority
// 11000, rewrite phase; apisix/plugins/fault-injection.lua, 3.18): it
// delays requests, aborts them with a given answer, or both (delay first).
//
//   - abort: http_status, an optional body (with $var / ${var} variables,
//     resolved per request as core.utils.resolve_var does), headers set on
//     the answer (string values resolve variables; numbers are written as
//     Lua writes them; "_" in a name is sent as "-", as ngx.header does;
//     an empty value removes the header), percentage, vars.
//   - delay: duration (seconds, fractions allowed), percentage, vars.
//   - percentage: the share of requests affected (math.random(1, 100) <=
//     percentage); absent means all.
//   - vars: an array of lua-resty-expr rules, OR-ed (each rule's own
//     conditions AND-ed unless it says otherwise); compiled once. As in
//     APISIX, both abort's and delay's vars are evaluated before the
//     delay, and an empty vars array matches nothing.
//
// An abort without a body answers nginx's page for the status (status >=
// 300) or an empty body.
//
// # The delay does not block the event loop
//
// APISIX sleeps in its worker (ngx.sleep yields the coroutine). sluice parks
// the request (reqctx.Ctx.Park): the job's Run sleeps on one of the engine's
// worker goroutines until the request's deadline (taken when the hook ran,
// so time spent waiting for a worker counts toward the delay), and the
// request resumes on its own loop, which serves other connections
// meanwhile. The delay therefore holds one worker for its duration: with
// every worker busy and the engine's park queue full, a delayed request is
// answered 503 at once (the engine's load shedding; Options.Workers and
// ParkQueue size it, 256 and 4096 by default). A request whose client went
// away during the delay is dropped when it wakes. Delay jobs are recycled
// per loop, so a delayed request allocates nothing.
//
// There is no other deliberate difference from APISIX.
package faultinjection
