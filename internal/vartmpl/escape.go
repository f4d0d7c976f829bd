package vartmpl

const upperHex = "0123456789ABCDEF"

// uriEscape is nginx's NGX_ESCAPE_URI table (ngx_string.c ngx_escape_uri):
// " ", "#", "%", "?", control characters and bytes >= 0x80.
var uriEscape = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c <= ' ' || c == '#' || c == '%' || c == '?' || c >= 0x7f
	}
	return t
}()

// AppendEscapedURI appends s as APISIX's core.utils.uri_safe_encode
// writes it (nginx's ngx_escape_uri with NGX_ESCAPE_URI).
func AppendEscapedURI(dst, s []byte) []byte {
	for _, c := range s {
		if uriEscape[c] {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// AppendEscapedComponent appends s escaped as ngx.escape_uri escapes a
// URI component (NGX_ESCAPE_URI_COMPONENT): every byte but RFC 3986's
// unreserved ones (letters, digits, "-._~") as %XX, so a space is "%20",
// not "+" as url.QueryEscape has it. s is a string: Lua hands its
// arguments over as strings.
func AppendEscapedComponent(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// AppendUnescapedComponent appends s percent-decoded to dst, '+' read as a
// space, as ngx.unescape_uri and ngx.req.get_uri_args decode (lua-nginx-
// module's ngx_http_lua_unescape_uri): a '%' not followed by two hex
// digits is kept as it is, and the escapes around it are still decoded.
func AppendUnescapedComponent(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// HasControl reports whether s holds a control character (0x00-0x1F,
// 0x7F): one that AppendEscapedControls would encode.
func HasControl(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// AppendEscapedControls appends s with control characters (0x00-0x1F,
// 0x7F) percent-encoded: APISIX's core.utils.escape_uri_control_chars.
func AppendEscapedControls(dst, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// EscapeSeparator is proxy-rewrite's escape_separator: a '?' in a
// variable's value becomes "%3F", so it cannot start a query.
func EscapeSeparator(dst, v []byte) []byte {
	for _, c := range v {
		if c == '?' {
			dst = append(dst, "%3F"...)
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}
