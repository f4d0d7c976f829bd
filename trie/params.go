package trie

import (
	"fmt"
	"strings"
	"unsafe"
)

// pathPattern is a route path with parameters, matched against the whole
// request path. lua-resty-radixtree builds a regular expression from the
// path split at '/': a segment ":name" becomes ([^/]+), a segment starting
// with '*' becomes ((.|\n)*) (named after the '*', or ":ext" if bare), and a
// trailing '/' is kept. This is the same language matched directly, with one
// deliberate difference: literal segments are literal (the regex version
// lets a '.' in "/v1.0/:id" match any byte).
//
// Layout: the pattern is a small value stored in the router's entry, and
// its segments are read from one string, the part of the route path after
// the segments the trie key already matched. A match touches no other
// memory, and capture names are substrings of it.
type pathPattern struct {
	tmpl string // remaining segments, '/'-separated, no leading or trailing '/'
	// skip is the request-path bytes (after the leading '/') covered by
	// whole literal segments inside the trie key: matching starts there.
	skip          int
	trailingSlash bool // the path ends in '/', which the request must too
	set           bool // the entry has a pattern at all
}

// patternBox is a pattern and, when it fits, its template's bytes, in one
// 64-byte allocation: checking a parameter route reads one cache line
// beyond its bucket, not two.
type patternBox struct {
	p   pathPattern
	buf [64 - unsafe.Sizeof(pathPattern{})]byte
}

// boxPattern returns a copy of p whose template lives in the same
// allocation when it fits.
func boxPattern(p pathPattern) *pathPattern {
	b := &patternBox{p: p}
	if n := copy(b.buf[:], p.tmpl); n == len(p.tmpl) && n > 0 {
		b.p.tmpl = unsafe.String(&b.buf[0], n)
	}
	return &b.p
}

// extName names a bare '*' capture, as lua-resty-radixtree does.
const extName = ":ext"

// compilePattern parses a route path; keyLen is the length of the trie key
// the router stores it under (a prefix of path).
func compilePattern(path string, keyLen int) (pathPattern, error) {
	if !strings.HasPrefix(path, "/") {
		return pathPattern{}, fmt.Errorf("path %q must start with /", path)
	}
	p := pathPattern{set: true}
	body := path[1:]
	if strings.HasSuffix(body, "/") {
		p.trailingSlash = true
		body = body[:len(body)-1]
	}
	segs := strings.Split(body, "/")
	captures := 0
	for _, s := range segs {
		if (strings.HasPrefix(s, ":") && len(s) > 1) || strings.HasPrefix(s, "*") {
			captures++
		}
	}
	if captures > MaxParams {
		return pathPattern{}, fmt.Errorf("path %q has more than %d parameters", path, MaxParams)
	}
	// A literal segment ending, with its '/', inside the key is verified.
	off := 0
	for _, s := range segs {
		end := off + len(s) + 1
		if isParam(s) || 1+end > keyLen {
			break
		}
		off = end
	}
	p.skip = off
	if off > len(body) {
		off = len(body)
	}
	p.tmpl = body[off:]
	return p, nil
}

func isParam(seg string) bool {
	return (strings.HasPrefix(seg, ":") && len(seg) > 1) || strings.HasPrefix(seg, "*")
}

func (p *pathPattern) captures() int {
	n := 0
	for _, s := range strings.Split(p.tmpl, "/") {
		if isParam(s) {
			n++
		}
	}
	return n
}

// match reports whether path (which starts with '/') matches the whole
// pattern, recording captures in out.
func (p *pathPattern) match(path []byte, out *Params) bool {
	out.n = 0
	body := path[1+p.skip:]
	if p.trailingSlash {
		if len(body) == 0 || body[len(body)-1] != '/' {
			return false
		}
		body = body[:len(body)-1]
	}
	return matchTmpl(p.tmpl, body, out)
}

// matchTmpl matches template segments against rest; both start at a segment
// boundary. A rest parameter takes the longest span first (the regex is
// greedy) and gives bytes back until the segments after it match.
func matchTmpl(tmpl string, rest []byte, out *Params) bool {
	var seg string
	more := false
	if i := strings.IndexByte(tmpl, '/'); i >= 0 {
		seg, tmpl, more = tmpl[:i], tmpl[i+1:], true
	} else {
		seg, tmpl = tmpl, ""
	}
	n := out.n
	if strings.HasPrefix(seg, "*") {
		name := seg[1:]
		if name == "" {
			name = extName
		}
		if !more {
			out.names[n], out.vals[n], out.n = name, rest, n+1
			return true
		}
		for cut := len(rest) - 1; cut >= 0; cut-- {
			if rest[cut] != '/' {
				continue
			}
			out.names[n], out.vals[n], out.n = name, rest[:cut], n+1
			if matchTmpl(tmpl, rest[cut+1:], out) {
				return true
			}
		}
		out.n = n
		return false
	}
	end := indexSlash(rest)
	part := rest[:end]
	if len(seg) > 1 && seg[0] == ':' {
		if len(part) == 0 {
			return false
		}
		out.names[n], out.vals[n], out.n = seg[1:], part, n+1
	} else if string(part) != seg {
		return false
	}
	if !more {
		if end == len(rest) {
			return true
		}
		out.n = n
		return false
	}
	if end == len(rest) || !matchTmpl(tmpl, rest[end+1:], out) {
		out.n = n
		return false
	}
	return true
}

func indexSlash(b []byte) int {
	for i, c := range b {
		if c == '/' {
			return i
		}
	}
	return len(b)
}
