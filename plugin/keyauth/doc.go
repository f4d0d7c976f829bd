// Package keyauth is APISIX's key-auth plugin (priority 2500, rewrite
// phase): a request authenticates with an API key that a consumer or one of
// its credentials holds.
//
// It follows apisix/plugins/key-auth.lua and t/plugin/key-auth*.t of APISIX
// 3.18:
//
//   - The key is read from the header conf.header (default "apikey"), else
//     from the query argument conf.query (default "apikey"), decoded as
//     ngx.req.get_uri_args decodes it. No key: 401
//     {"message":"Missing API key in request"}; a key no consumer holds, or
//     an argument given twice or without a value: 401
//     {"message":"Invalid API key in request"}. Both carry
//     WWW-Authenticate: apikey realm="<realm>".
//   - A known key attaches its consumer (plugin.AttachConsumer:
//     X-Consumer-Username, X-Credential-Identifier, X-Consumer-Custom-ID
//     upstream) and, with hide_credentials, removes the header or query
//     argument it came in.
//   - With anonymous_consumer, a failure falls back to that consumer
//     (hide_credentials then strips the key from both places); when it does
//     not exist: 401 {"message":"Invalid user authorization"}.
//   - The consumer side holds key (stored encrypted by the Admin API). A
//     $env:// reference is resolved when the consumer compiles; one that
//     does not resolve, and any $secret:// reference, leaves the consumer
//     out of key-auth (fail closed, as APISIX 3.18 skips it).
//
// Deliberate differences: removing the query argument keeps the other
// arguments byte for byte where APISIX re-encodes them all; Vault and other
// secret managers ($secret://) are not supported. Duplicate keys keep the
// first consumer (by name, then credential id) where APISIX keeps the last
// loaded; the Admin API refuses them in the first place.
//
// The request path allocates nothing: the key is looked up as bytes, and a
// query argument is decoded into a per-loop buffer.
package keyauth
