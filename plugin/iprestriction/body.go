package iprestriction

// MessageBody is core.response.exit's body for {message = msg}: the JSON
// lua-cjson writes, then "\n".
func MessageBody(msg string) []byte {
	b := append([]byte(nil), `{"message":`...)
	b = AppendCJSONString(b, msg)
	return append(b, "}\n"...)
}

// AppendCJSONString appends s as a JSON string the way lua-cjson encodes
// it: '"', '\\' and '/' escaped with a backslash, \b \f \n \r \t by name,
// other control characters and DEL as \u00XX, every other byte (UTF-8
// included) as is.
func AppendCJSONString(dst []byte, s string) []byte {
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
