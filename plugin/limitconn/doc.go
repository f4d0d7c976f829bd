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
// # Differences from APISIX
//
//   - Policies redis and redis-cluster are refused when compiled (the route
//     answers 503, as for any plugin sluice cannot run).
//   - only_use_default_delay is accepted and has no effect, as in APISIX
//     3.18, whose per-request limit object forgets the latency it learns.
//   - Delays run on a worker (ratelimit.Delay), never on a loop; with
//     rules, the rules' delays are summed and waited once after all are
//     counted, where APISIX waits after each. Past ratelimit.MaxDelayed
//     waiting requests a request that should wait is rejected instead.
package limitconn
