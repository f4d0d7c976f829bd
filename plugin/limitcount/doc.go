// Package limitcount is APISIX's limit-count plugin (priority 1002, access
// phase): at most count requests per time_window seconds per key, with the
// quota in X-RateLimit-Limit / -Remaining / -Reset response headers (names
// from plugin_metadata limit-count) and rejected_code (503) with
// {"error_msg": rejected_msg}, or the gateway's error page, past it.
//
// It follows apisix/plugins/limit-count.lua, limit-count/init.lua,
// limit-count-local.lua, limit-count-redis*.lua and util.lua of APISIX 3.18.
//
// # Counters
//
// A counter key is "<resource key>:<crc32 of the conf>:<key>" (APISIX's
// gen_limit_key): changing the conf starts from zero, recompiling an
// unchanged one (any other config change) does not; a conf with group uses
// "<group>:<key>" so the group's routes share counters. The key is the
// key_type's value (var, var_combination, constant), the client address
// when that is absent.
//
// Policy local counts in Store, one fixed window per key starting at its
// first request, shared by every event loop of the process; it allocates
// nothing per request for a known key. window_type sliding (sliding.go)
// counts clock-aligned windows and weighs the previous one in, locally or
// on Redis, as APISIX 3.18 does. Policies redis and redis-cluster
// (and redis-sentinel) run APISIX's script on Redis through a shared,
// auto-pipelining rueidis client: the request parks (reqctx.Park), a worker
// makes the call with redis_timeout, and the result is applied back on the
// loop. Redis unreachable: 500 {"error_msg":"failed to limit count"}, or
// the request goes through without headers under allow_degradation.
//
// # Checks
//
// Beyond the schema, APISIX's check_schema rules hold: count/time_window
// and rules are exclusive, group and rules too, a rules key may not repeat,
// sync_interval is at least 0.1 and below time_window, and confs of one
// group must be equal field by field ("group conf mismatched") against the
// first conf this process checked for the group in the last 5 minutes
// (APISIX's per-process LRU cache of 8 groups).
//
// # Differences from APISIX
//
//   - sync_interval (delayed Redis sync) is accepted and checked but the
//     counter is synced on every request, which is exact rather than
//     approximate.
//   - redis_keepalive_timeout/_pool have no use: one pipelined connection
//     per Redis node serves every request.
//   - The local store holds at most DefaultMaxKeys windows; past that the
//     window nearest its end among a sample is dropped, where nginx's
//     10 MiB shared dict drops its least recently used entry.
//   - The rate_limiting_* context variables APISIX sets for loggers are not
//     set.
//   - A sluice and an APISIX node on one Redis count together for a conf
//     with group (same key and script); without group the key embeds a
//     crc32 of the conf's JSON as each encodes it, which differ, so they
//     keep separate counters.
package limitcount
