package ngxbase64

import "bytes"

// alphabet maps a byte to its 6-bit value, or to invalid.
type alphabet [256]byte

const invalid = 0xff

func newAlphabet(chars ...string) *alphabet {
	var a alphabet
	for i := range a {
		a[i] = invalid
	}
	for _, cs := range chars {
		for i := 0; i < len(cs); i++ {
			a[cs[i]] = byte(i)
		}
	}
	return &a
}

const (
	stdChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	urlChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

var (
	stdAlphabet  = newAlphabet(stdChars)
	urlAlphabet  = newAlphabet(urlChars)
	bothAlphabet = newAlphabet(stdChars, urlChars)
)

// Decode is ngx.decode_base64: the standard alphabet.
func Decode(dst, src []byte) ([]byte, bool) { return decode(dst, src, stdAlphabet) }

// DecodeURL is ngx.base64.decode_base64url: the URL alphabet only.
func DecodeURL(dst, src []byte) ([]byte, bool) { return decode(dst, src, urlAlphabet) }

// DecodeEither takes both alphabets, as lua-resty-jwt's jwt_decode does:
// it maps '-' and '_' to '+' and '/', pads, then calls ngx.decode_base64.
func DecodeEither(dst, src []byte) ([]byte, bool) { return decode(dst, src, bothAlphabet) }

// decode appends src decoded with a to dst.
func decode(dst, src []byte, a *alphabet) ([]byte, bool) {
	if i := bytes.IndexByte(src, '='); i >= 0 {
		src = src[:i]
	}
	if len(src)%4 == 1 {
		return dst, false
	}
	var acc uint32
	bits := 0
	for _, c := range src {
		v := a[c]
		if v == invalid {
			return dst, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
		}
	}
	return dst, true
}
