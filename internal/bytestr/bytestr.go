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
