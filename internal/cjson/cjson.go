package cjson

// Exit returns the body of core.response.exit(code, {[key] = msg}): the
// table as lua-cjson encodes it, then the "\n" exit adds. Plugins build
// their bodies with it once, when a conf compiles.
func Exit(key, msg string) []byte {
	b := make([]byte, 0, len(key)+len(msg)+8)
	b = append(b, '{')
	b = AppendString(b, key)
	b = append(b, ':')
	b = AppendString(b, msg)
	return append(b, '}', '\n')
}

// AppendString appends s to dst as a lua-cjson string, quotes included.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '/':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 || c == 0x7f {
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '"')
}
