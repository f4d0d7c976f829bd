// Package requestid is APISIX's request-id plugin (priority 12015, rewrite
// and header_filter; apisix/plugins/request-id.lua, 3.18): a request
// without a (non-empty) header_name header (X-Request-Id) gets one, sent
// upstream; with include_in_response (the default) the answer carries it
// too, unless the upstream already answered with one. algorithm picks the
// id: uuid (v4), uuidv7 (APISIX's monotonic per-worker layout), nanoid
// (21 characters of the URL-safe alphabet), range_id (length characters of
// char_set) or ksuid (27 base62 characters: seconds since 2014-05-13
// 16:53:20 UTC and 16 random bytes).
//
// Ids come from a per-loop ChaCha8 generator (math/rand/v2) seeded from
// crypto/rand when the loop first needs one: no lock, no allocation per
// request, and — unlike APISIX's math.random for range_id — unpredictable.
//
// Deliberate difference: the id echoed in the answer is the request's
// header_name header as the answer is made (APISIX remembers the value of
// its rewrite phase), so it differs only if a later plugin rewrote that
// header.
package requestid
