package bytestr

import "unsafe"

// String views b as a string without copying. The result is valid only
// while b's bytes are unchanged and alive: use it for a lookup, a compare or
// a parse that does not keep the string, never to store it.
//
//gcassert:inline
func String(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Bytes views s as a byte slice without copying. The result must never be
// written to: s's bytes may be in read-only memory.
//
//gcassert:inline
func Bytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
