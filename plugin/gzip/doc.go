// Package gzip is APISIX's gzip plugin (apisix/plugins/gzip.lua, priority
// 995): it compresses response bodies with gzip, streaming, in the body
// filter, using github.com/klauspost/compress.
//
// # Behaviour
//
// APISIX splits the work between its Lua header filter, which decides from
// the conf, and nginx's gzip filter (ngx_http_gzip_filter_module), which
// APISIX's runtime enables per request. This package does both, in that
// order, in its header_filter:
//
//   - Lua's checks: the response has a Content-Type whose media type (the
//     part before ';', compared exactly) is one of types, unless types is
//     "*"; a Content-Length, when the response has one, is at least
//     min_length (a chunked body or a gateway answer has none, so it is not
//     checked: "like nginx"); the request's HTTP version is at least
//     http_version. Then, when vary is set, "Vary: Accept-Encoding" is
//     added — even if nginx's checks below decline, as in APISIX.
//   - nginx's checks: the status is 200, 403 or 404; the response is not
//     already encoded (a non-empty Content-Encoding); the request is not
//     HEAD; Accept-Encoding lists gzip with a non-zero q
//     (ngx_http_gzip_accept_encoding, first Accept-Encoding field only);
//     the request has no Via field (gzip_proxied's default, off).
//   - Then, as nginx does: Content-Encoding: gzip, Content-Length dropped
//     (the engine frames the filtered body chunked, or by closing for
//     HTTP/1.0), Accept-Ranges dropped, a strong ETag made weak (W/"…";
//     an ETag that is neither strong nor weak is dropped:
//     ngx_http_weak_etag).
//
// Gateway answers (404, plugin exits, error pages) pass the same filters
// and are compressed when they qualify.
//
// # Memory per in-flight stream
//
// A stateful deflate writer keeps its window and hash tables between
// writes: about 0.8 MiB at level 1 and 1.4 MiB at level 9, and building one
// costs ~14 allocations. Each event loop therefore keeps at most
// MaxStatefulPerLoop of them, reused with Reset for one stream after
// another (they stay allocated between streams). A stream that starts while
// they are all busy is compressed statelessly instead
// (klauspost's StatelessCompression: every body piece is deflated on its
// own, nothing kept between pieces but a small writer struct, at a slightly
// lower ratio and whatever comp_level says). So a loop holds at most
// MaxStatefulPerLoop × ~1.4 MiB of compressor state however many responses
// it compresses at once. Compressed output goes to one buffer per loop: the
// engine writes what a body filter returns before it calls any filter
// again on that loop.
//
// A stream is released when its last piece is compressed, or in the log
// phase when the response ended early (client gone, upstream reset); a
// stream left behind by a request whose log phase never ran this plugin
// (its _meta.filter changed its mind) is reclaimed by the next stream that
// needs its slot.
//
// # Deliberate differences
//
//   - Order: nginx compresses after every Lua body filter. Here gzip's body
//     filter runs at its priority (995), so body filters after it in the
//     chain (response-rewrite, 899) and the route's body filters after a
//     global rule's gzip see compressed bytes. A later header filter that
//     removes Content-Encoding (response-rewrite with a body) turns the
//     compression off for that response, so the body is never mislabelled.
//   - buffers (nginx's gzip_buffers) is accepted and checked but unused:
//     memory is bounded as described above.
//   - Compression does not flush per body piece (nginx with APISIX's
//     proxy_buffering on does not either): a slow stream shows up in
//     blocks. Stateless streams emit output for every piece.
package gzip
