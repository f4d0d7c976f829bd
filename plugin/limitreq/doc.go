// Package limitreq is APISIX's limit-req plugin (priority 1001, access
// phase): a leaky bucket per key (resty.limit.req) draining at rate
// requests per second. A request that would fill the bucket past burst is
// rejected with rejected_code (503) and {"error_msg": rejected_msg} or the
// gateway's error page; one within burst waits excess/rate seconds first,
// unless nodelay.
//
// It follows apisix/plugins/limit-req.lua and limit-req/*.lua of APISIX
// 3.18. The counter key is "<resource key>:<crc32 of the conf>:<key>",
// the key from key_type var or var_combination (the client address when
// absent), as limit-count's.
//
// Policy local keeps the buckets in Buckets, shared by every event loop and
// outside the compiled conf (an unchanged conf recompiled keeps its
// buckets); a drained bucket is evicted, being the same as none. Policies
// redis and redis-cluster run APISIX's script (hash "limit_req:<key>",
// fields excess and last, wall-clock milliseconds) on a shared rueidis
// client from a worker, the request parked meanwhile; an error answers 500
// or, under allow_degradation, lets the request through.
//
// # Delays
//
// A delay never blocks a loop: the request parks on a job that sleeps on a
// worker (ratelimit.Delay). At most ratelimit.MaxDelayed requests wait at
// once; past that a request that should wait is rejected as if over burst
// (and, local policy, its place in the bucket given back). That bound is
// sluice's, not APISIX's, whose sleeping requests cost only a coroutine.
package limitreq
