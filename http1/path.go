package http1

import "bytes"

// ErrBadPath: a path with an invalid percent-encoding, an encoded NUL, or a
// ".." that climbs above the root (nginx answers these 400 too).
var ErrBadPath = bad("http1: invalid request path")

// PathNeedsNormalizing reports whether path has anything NormalizePath would
// change: a '%', a "//" or a "/." segment. Most paths do not, and are routed
// on as received without a copy.
func PathNeedsNormalizing(path []byte) bool {
	return bytes.IndexByte(path, '%') >= 0 || bytes.Contains(path, []byte("//")) ||
		bytes.Contains(path, []byte("/."))
}

// NormalizePath appends to dst the form of path that routes match on, as
// nginx's $uri (which APISIX matches): percent-decoded, then "." and ".."
// segments resolved, repeated slashes merged. path must start with '/'.
func NormalizePath(dst, path []byte) ([]byte, error) {
	base := len(dst)
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '%' {
			if i+2 >= len(path) || hexVal(path[i+1]) < 0 || hexVal(path[i+2]) < 0 {
				return dst[:base], ErrBadPath
			}
			c = byte(hexVal(path[i+1])<<4 | hexVal(path[i+2]))
			i += 2
		}
		if c == 0 {
			return dst[:base], ErrBadPath
		}
		dst = append(dst, c)
	}
	// Resolve segments in place: decoding only shrinks, and so does this.
	buf := dst[base:]
	w, r, n := 0, 0, len(buf)
	for r < n {
		for r < n && buf[r] == '/' {
			r++
		}
		e := r
		for e < n && buf[e] != '/' {
			e++
		}
		seg := buf[r:e]
		switch {
		case len(seg) == 1 && seg[0] == '.':
			if e == n {
				w = appendSlash(buf, w)
			}
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if w == 0 {
				return dst[:base], ErrBadPath
			}
			w = bytes.LastIndexByte(buf[:w], '/')
			if e == n {
				w = appendSlash(buf, w)
			}
		default:
			buf[w] = '/'
			w++
			w += copy(buf[w:], seg)
		}
		r = e
	}
	if w == 0 {
		buf[0] = '/'
		w = 1
	}
	return dst[:base+w], nil
}

func appendSlash(buf []byte, w int) int {
	if w == 0 || buf[w-1] != '/' {
		buf[w] = '/'
		w++
	}
	return w
}
