// Package limitconn is APISIX's limit-conn plugin (priority 1003, access
// and log phases): at most conn + burst requests of one key in flight.
// The access hook counts a request in; the log hook, which runs for every
// request however it ended (client gone included), counts it out. A
// request past conn waits default_conn_delay for each conn already in
// flight beyond it (resty.limit.conn's unit_delay * floor((n-1)/conn));
// past conn + burst it is rejected with rejected_code (503) and
// {"error_msg": rejected_msg} or the gateway's error page.
//
// It follows apisix/plugins/limit-conn.lua and limit-conn/init.lua of
// APISIX 3.18: key_type var / var_combination (client address when the key
// is absent), conn and burst as numbers or "${var ?? default}" strings
// resolved per request, rules[] (each keyed by a template; an entry whose
// key or values do not resolve is skipped, none applying answers 500 or,
// under allow_degradation, lets the request through). Counter keys are
// "<resource key>:<crc32 of the conf>:<key>", kept in Counters outside the
// compiled conf, shared by every event loop.
//
// Policies redis and redis-cluster keep APISIX's sorted set per key
// ("limit_conn:<key>", a random UUID member per request scored by when it
// expires, key_ttl) through a shared rueidis client: access parks while a
// worker runs APISIX's script; the log hook queues the request's members
// and one goroutine removes them in pipelined batches (APISIX's leaving
// runs in a timer since log_by_lua cannot use sockets). A request whose
// client left while it was parked releases its members at once.
//
// # Differences from APISIX
//
//   - When more than 65536 members wait for removal, the excess is left to
//     expire (key_ttl) instead of queueing without bound.
//   - only_use_default_delay is accepted and has no effect, as in APISIX
//     3.18, whose per-request limit object forgets the latency it learns.
//   - Delays run on a worker (ratelimit.Delay), never on a loop; with
//     rules, the rules' delays are summed and waited once after all are
//     counted, where APISIX waits after each. Past ratelimit.MaxDelayed
//     waiting requests a request that should wait is rejected instead.
package limitconn
