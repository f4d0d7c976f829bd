// Package responserewrite is APISIX's response-rewrite plugin (priority
// 899, header_filter and body_filter; apisix/plugins/response-rewrite.lua,
// 3.18). When its vars expression matches the response (status,
// upstream_status, sent_http_* ... read from the request context during
// header_filter; no vars: always), it sets status_code, edits response
// headers (the legacy map, or {add: ["Name: value"], set, remove}, values
// with $var), and replaces the body with body (body_base64 decoded once) or
// rewrites it with filters (regex, scope once|global, replace, ngx.re
// options). A changed body drops Content-Length (the engine frames the new
// body), Content-Encoding, ETag and Last-Modified. Gateway answers (404,
// 502, a plugin's exit) pass through it like upstream ones.
//
// # Memory
//
// filters need the whole body: it is buffered per request, up to
// max_resp_body_size bytes (64 MiB by default, APISIX's), then filtered and
// sent. A gzip body is inflated first (the output capped at the same size).
// A request holds at most max_resp_body_size bytes of body, plus the
// filtered copy; buffers go back to a per-loop free list when the request
// is logged, and only buffers up to 1 MiB are kept for reuse, so an idle
// loop does not hold a large body.
//
// Deliberate differences from APISIX:
//   - A body longer than max_resp_body_size is cut there: its first
//     max_resp_body_size bytes are filtered and the rest dropped. APISIX
//     filters the same prefix but then lets later nginx buffers through
//     unfiltered, which depends on how the upstream's bytes were chunked.
//   - A brotli body (APISIX inflates it when lua-brotli is installed) is
//     left encoded, Content-Encoding kept, and not filtered. Other encodings
//     APISIX cannot decode either (deflate) are passed as APISIX passes them:
//     unfiltered, Content-Encoding removed.
//   - Header values' control characters are percent-encoded (no header
//     line can be split); an add whose value expands to "" adds nothing.
//   - filters regexes are RE2 (PCRE-only syntax is refused at check time).
package responserewrite
