// Package jwtauth is APISIX's jwt-auth plugin (priority 2510, rewrite
// phase): a request authenticates with a JSON Web Token (JWS) signed for a
// consumer, which the token names by a claim (key_claim_name, default
// "key").
//
// It follows apisix/plugins/jwt-auth.lua, apisix/plugins/jwt-auth/parser.lua
// (with lua-resty-jwt's load_jwt) and t/plugin/jwt-auth*.t of APISIX 3.18.
// A request is answered, in this order:
//
//   - the token is taken from the header conf.header (default
//     "authorization"; a "Bearer " or "bearer " prefix is dropped), else
//     the query argument conf.query ("jwt"), else the cookie conf.cookie
//     ("jwt"), and with hide_credentials removed from where it was found
//     (the Cookie header is rebuilt as APISIX's remove_specified_cookie
//     does). None: 401 {"message":"Missing JWT token in request"};
//   - it must split on '.' into three non-empty parts whose first two are
//     base64url JSON: else 401 {"message":"JWT token invalid"};
//   - the payload's key claim: absent (or false) 401 {"message":"missing
//     user key in JWT token"}; not a string, or no consumer's key: 401
//     {"message":"Invalid user key in JWT token"};
//   - the header's alg must be the consumer's algorithm, the signature
//     must verify with its secret (HS*) or public key, and the claims must
//     hold: else 401 {"message":"failed to verify jwt"}. Without
//     claims_to_verify, exp and nbf are checked when present; with it, the
//     listed claims must be present too. nbf < now + lifetime_grace_period
//     and exp > now − lifetime_grace_period, in whole seconds, a claim that
//     is not a number failing.
//
// Every 401 carries WWW-Authenticate: Bearer realm="<realm>". Success
// attaches the consumer (plugin.AttachConsumer) and, with store_in_ctx,
// keeps the payload for later plugins under PayloadKey (APISIX's
// ctx.jwt_auth_payload). With anonymous_consumer, failures fall back to
// that consumer, or answer 401 {"message":"Invalid user authorization"} when
// it does not exist.
//
// Keys are parsed once, when the consumer compiles, with
// github.com/golang-jwt/jwt/v5, whose signing methods verify RS256/384/512,
// PS256/384/512 (2048-bit keys, as APISIX asserts 256-byte signatures),
// ES256/384/512 and EdDSA signatures. HS256/384/512 (secret, base64-decoded
// with base64_secret) are computed with crypto/hmac on a per-loop HMAC per
// credential, with the hash golang-jwt's method names, so that the common
// case allocates nothing. public_key may also be a certificate or a
// private key, as openssl reads it; a key that does not parse makes every
// token of that consumer fail verification rather than the consumer
// disappear. Parsing and the claim rules are sluice's own, to answer as
// APISIX does rather than as golang-jwt's parser would; claims are read
// from the payload in place, without decoding it into a map.
//
// Deliberate differences: EdDSA is Ed25519 only (Go has no Ed448); secret
// managers ($secret://) are not supported ($env:// is); tokens APISIX
// crashes on (a payload that is a JSON number) are answered as having no
// claims.
package jwtauth
