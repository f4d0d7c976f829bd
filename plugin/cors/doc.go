// Package cors is APISIX's cors plugin (priority 4000, rewrite and
// header_filter; apisix/plugins/cors.lua, 3.18). In rewrite it answers an
// OPTIONS request 200 with an empty body; in header_filter — which runs on
// upstream answers and on the gateway's own (a 401 from an auth plugin, a
// 404, a 502) alike — it decides the allowed origin and sets
// Access-Control-Allow-Origin, -Allow-Methods, -Max-Age, -Expose-Headers,
// -Allow-Headers, -Allow-Credentials (replacing the upstream's), plus
// Timing-Allow-Origin, and adds "Vary: Origin" unless allow_origins is "*".
//
// The origin is matched as APISIX does: allow_origins ("*"; "**" echoes the
// request's Origin; a comma list matched exactly; a single origin allowed
// only when it equals the request's), or instead allow_origins_by_regex
// (any of the regexes found in the Origin), and allow_origins_by_metadata
// (named origin lists in plugin_metadata/cors) first or as a fallback. An
// origin that matches nothing gets no CORS headers (Vary still).
//
// Everything is compiled in New (origin sets, the regexes joined with '|',
// header values as bytes) and NewMetadata; a request only compares.
//
// Deliberate difference: APISIX remembers the Origin as it is when cors's
// rewrite runs; sluice reads the Origin the client sent (the request head
// is kept whole), which differs only if a plugin of higher priority
// rewrote Origin, or cors's rewrite did not run at all.
package cors
