// Package proxyrewrite is APISIX's proxy-rewrite plugin (priority 1008,
// rewrite phase; apisix/plugins/proxy-rewrite.lua, 3.18): it rewrites what
// is sent upstream — the uri (a $var template, or the first matching
// regex_uri pair with $N captures), the Host (SetUpstreamHost), the method,
// and request headers (the legacy map, which sets and removes with "", or
// {add, set, remove}, values with $var and $N).
//
// As APISIX does, the new uri is percent-encoded (nginx's ngx_escape_uri,
// core.utils.uri_safe_encode) unless use_real_request_uri_unsafe is set;
// a '?' that a template variable brings in is escaped to %3F (it cannot
// start a query), a '?' written in the template or the replacement starts
// one, whose control characters are encoded. The client's query is
// appended ('&' when the new uri has its own). Without uri or regex_uri the
// uri is still re-encoded from $uri, so the upstream sees the normalised
// path, as in APISIX. Later plugins see the new $uri.
//
// Everything is compiled in New: templates into segments, regexes with
// internal/ngxre (RE2; a PCRE-only pattern is refused at check time), header
// names and static values as bytes. The request path expands into per-loop
// buffers and allocates nothing, except one small slice per regex_uri
// match (Go's regexp has no allocation-free submatch API; a pattern that
// does not match costs nothing).
//
// Deliberate differences from APISIX:
//   - APISIX keeps $upstream_uri apart from $uri; sluice's request context
//     has one uri and one query, so a new uri "/a?x=1" becomes $uri "/a" and
//     $args "x=1&<client's args>" (APISIX: $uri "/a?x=1", $args unchanged),
//     and with use_real_request_uri_unsafe $uri becomes the raw path (APISIX
//     leaves $uri alone). What the upstream receives is the same.
//   - A capture's text is inserted as is; APISIX would expand a "$name"
//     inside it as a variable.
//   - Header names in add/set/remove must be visible ASCII without ':' at
//     check time (APISIX checks the legacy map only and fails at run time);
//     control characters in expanded values are percent-encoded, as
//     lua-nginx-module does, so no value can inject a header line.
//   - An add whose value expands to "" adds nothing.
//   - A Host field in headers sets the upstream Host (as host does),
//     whatever the upstream's pass_host; in APISIX it rewrites $host, which
//     reaches the upstream only with pass_host "pass". Removing Host does
//     nothing (the upstream always gets one).
package proxyrewrite
