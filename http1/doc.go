// Package http1 owns HTTP/1.1 wire syntax for sluice: parsing request and
// response heads, body framing (Content-Length, chunked, close-delimited),
// and the bytes of the responses the gateway answers itself.
//
// It refuses to own sockets, routing, or header policy (which headers a proxy
// adds or strips): the engine does that with the spans parsed here. The
// method enum is internal/httpmethod's (Method is an alias), so the method a
// request is parsed into is already the bit the router matches.
//
// # Parsing model
//
// Parsing is two-step and never copies. A HeadScanner runs over bytes as
// they arrive and only looks for the end of the head (CRLF CRLF), rejecting
// bare LF and enforcing the request-line and head-size limits as soon as
// they are crossed; it is incremental (it remembers how far it got, and each
// Scan looks only at the new bytes), so a client sending one byte at a time
// costs linear work. Once the head is complete,
// Request.Parse (or Response.Parse) validates it in one pass and records
// every field as a Span: an offset and length relative to the first byte of
// the head. Spans survive the buffer moving (gnet hands out a different slice
// on each callback) as long as the head's bytes are unchanged; resolve them
// with Span.Of(head).
//
// Parsing is strict (RFC 9112/9110 and the malformed-request catalogue in
// shared/reference/peers-and-http1-safety.md §5.4): anything two parsers
// could read differently is an error carrying the status to answer with, and
// the caller must close the connection after answering. Errors are
// preallocated *Error values, so a rejected request allocates nothing.
//
// Bodies are framed by a Body value (Content-Length countdown, the chunked
// state machine, or read-until-close). The chunked machine validates sizes,
// extensions and trailers byte by byte and reports where each data segment
// and the whole body end, so the engine can forward the raw bytes unchanged
// or, for an HTTP/1.0 client, only the data.
//
// # Concurrency
//
// Nothing here is shared: a Request, Response or Body belongs to one
// connection on one event loop. Package-level tables are read-only.
package http1
