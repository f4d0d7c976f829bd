package ratelimit

import "strconv"

// RejectBody returns the body APISIX's limit plugins answer a rejected
// request with when rejected_msg is set: core.response.exit(code,
// {error_msg = msg}), which is lua-cjson's encoding plus "\n". It returns
// nil for an empty msg: the gateway's error page for the code is sent then.
func RejectBody(msg string) []byte {
	if msg == "" {
		return nil
	}
	b := []byte(`{"error_msg":`)
	b = AppendCJSONString(b, msg)
	return append(b, "}\n"...)
}

// AppendCJSONString appends s as lua-cjson encodes a string: quotes, the
// JSON escapes, and '/' written as "\/"; bytes >= 0x80 are copied as they
// are and DEL is escaped as cjson's table does. (encoding/json would escape
// <, > and & instead, which APISIX users would see as a different body.)
func AppendCJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			dst = append(dst, `\"`...)
		case '\\':
			dst = append(dst, `\\`...)
		case '/':
			dst = append(dst, `\/`...)
		case '\b':
			dst = append(dst, `\b`...)
		case '\f':
			dst = append(dst, `\f`...)
		case '\n':
			dst = append(dst, `\n`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\t':
			dst = append(dst, `\t`...)
		default:
			if c < 0x20 || c == 0x7f {
				dst = append(dst, `\u00`...)
				if c < 0x10 {
					dst = append(dst, '0')
				}
				dst = strconv.AppendUint(dst, uint64(c), 16)
				continue
			}
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
