package plugin

import "strconv"

// ExitJSON returns the body APISIX sends for core.response.exit(code,
// {[key] = msg}): the table encoded by lua-cjson, then "\n". Plugins build
// their bodies with it once, when a conf compiles, and hand the bytes to
// Ctx.Exit per request.
//
// lua-cjson escapes differently from encoding/json: '/' becomes "\/",
// DEL becomes "\u007f", and '<', '>', '&' and non-ASCII bytes are written
// as they are (cjson does not check UTF-8).
func ExitJSON(key, msg string) []byte {
	b := make([]byte, 0, len(key)+len(msg)+8)
	b = append(b, '{')
	b = AppendCJSONString(b, key)
	b = append(b, ':')
	b = AppendCJSONString(b, msg)
	return append(b, '}', '\n')
}

// AppendCJSONString appends s as lua-cjson encodes a string.
func AppendCJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '/':
			b = append(b, '\\', '/')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 || c == 0x7f {
				b = append(b, `\u00`...)
				if c < 0x10 {
					b = append(b, '0')
				}
				b = strconv.AppendUint(b, uint64(c), 16)
				continue
			}
			b = append(b, c)
		}
	}
	return append(b, '"')
}
