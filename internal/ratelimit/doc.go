// Package ratelimit owns what APISIX's three traffic-control plugins
// (limit-count, limit-req, limit-conn) share, so that each plugin package
// holds only its own algorithm:
//
//   - Keys: what a request is counted under. Key compiles a conf's key_type
//     and key (var, var_combination, constant; an absent value falls back to
//     remote_addr), its var_combination an internal/vartmpl template
//     (core.utils.resolve_var's syntax and n_resolved count); it renders
//     into a caller's buffer without allocating. RuleKey is one limit's key, the
//     conf's own or a rules entry's (which applies only when it resolves).
//     Prefix builds the "<resource key>:<conf crc32>:" every counter key
//     starts with.
//   - Values: Value is a limit given as an integer or as a template
//     resolved per request; each plugin reads the rendered text its own
//     way.
//   - Rejections: RejectBody encodes {"error_msg": msg} the way lua-cjson
//     does, plus the "\n" core.response.exit adds.
//   - Redis: Redis is a process-wide registry of rueidis clients, one per
//     connection identity (policy, address, credentials, database, TLS),
//     dialled lazily on a worker goroutine and shared by every plugin
//     instance and loop, so concurrent requests share pipelined round trips.
//     The JSON-schema fragments of APISIX's redis-schema.lua live here too.
//   - Delays: Delay is a reqctx.Job that sleeps off the event loop (limit-req
//     without nodelay, limit-conn's burst), bounded in number.
//
// It refuses to own counting: each plugin keeps its own process-wide store
// (nginx's shared dict equivalent, on internal/shdict) and its own Redis
// script.
//
// # Concurrency
//
// Key, RuleKey and Value are immutable once compiled and safe from any goroutine;
// rendering is loop-only only in that it reads a request's Ctx. The Redis
// registry is safe from any goroutine; Client.Get blocks (it may dial) and
// runs on a worker, never on a loop.
//
// # Source
//
// apisix/core/utils.lua (resolve_var), apisix/plugins/limit-count/init.lua
// (key types, gen_limit_key), apisix/utils/redis.lua, rediscluster.lua and
// redis-schema.lua, APISIX 3.18 (Apache-2.0).
package ratelimit
