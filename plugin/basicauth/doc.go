// Package basicauth is APISIX's basic-auth plugin (priority 2520, rewrite
// phase): a request authenticates with HTTP Basic credentials that a
// consumer or one of its credentials holds.
//
// It follows apisix/plugins/basic-auth.lua and t/plugin/basic-auth*.t of
// APISIX 3.18, down to how it reads the header:
//
//   - No Authorization header: 401 {"message":"Missing authorization in
//     request"}. A value without "basic" (any case, anywhere: APISIX's
//     regex is unanchored) followed by one whitespace character, whose rest
//     is not base64 (as nginx decodes it: padding optional, input ends at
//     the first '='), or whose decoded text has no ':': 401
//     {"message":"Invalid authorization in request"}.
//   - The decoded text is split on ':' as ngx.re.split does, so a password
//     ends at a second ':'; whitespace is removed from user and password.
//     An unknown user or a wrong password: 401 {"message":"Invalid user
//     authorization"}. Every 401 carries WWW-Authenticate: Basic
//     realm="<realm>".
//   - A match attaches the consumer (plugin.AttachConsumer) and, with
//     hide_credentials, removes the Authorization header; with
//     anonymous_consumer a failure falls back to that consumer (and
//     hide_credentials still removes the header), or answers 401
//     {"message":"Invalid user authorization"} when it does not exist.
//   - The consumer side holds username (what requests are looked up by)
//     and password (stored encrypted by the Admin API); $env:// references
//     are resolved when the consumer compiles, and one that does not
//     resolve (or a $secret:// one) leaves the consumer out.
//
// Deliberate differences: the password is compared in constant time;
// secret managers ($secret://) are not supported.
//
// The request path allocates nothing: the header is decoded into a
// per-loop buffer.
package basicauth
