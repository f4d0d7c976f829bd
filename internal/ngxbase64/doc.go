// Package ngxbase64 decodes base64 as nginx does (ngx_decode_base64 and
// its URL twin), which is what every APISIX decode goes through:
// ngx.decode_base64, ngx.base64.decode_base64url, $remote_user. It
// differs from encoding/base64: the input ends at the first '=' (whatever
// follows is ignored), padding is optional, a length of 4n+1 is refused,
// leftover bits are ignored, and no byte outside the alphabet is skipped
// (encoding/base64 skips CR and LF).
//
// The decoders append to dst and report false for input nginx refuses.
package ngxbase64
