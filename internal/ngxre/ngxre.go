package ngxre

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrBadReplacement: a replacement template with a '$' that is not "$$",
// "$N" or "${N}".
var ErrBadReplacement = errors.New("invalid capturing variable name found")

// rePCREOnly is appended to RE2's complaint about a pattern.
const rePCREOnly = " (sluice's regular expressions are RE2: lookaround, backreferences, " +
	"possessive quantifiers and atomic groups are not supported)"

// Regexp is a compiled ngx.re pattern. Immutable; safe to share.
type Regexp struct {
	re *regexp.Regexp
	// eol is set when the pattern ends a match at a '$' outside multiline
	// mode, which PCRE also lets match before a final newline.
	eol bool
}

// NumSubexp returns the number of capture groups.
func (r *Regexp) NumSubexp() int { return r.re.NumSubexp() }

// Match reports whether b has a match. It allocates nothing.
func (r *Regexp) Match(b []byte) bool {
	if r.re.Match(b) {
		return true
	}
	return r.eol && len(b) > 0 && b[len(b)-1] == '\n' && r.re.Match(b[:len(b)-1])
}

// FindSubmatchIndex returns the leftmost match's group offsets, or nil, as
// regexp's does, with PCRE's '$'.
func (r *Regexp) FindSubmatchIndex(b []byte) []int {
	m := r.re.FindSubmatchIndex(b)
	if r.eol && len(b) > 0 && b[len(b)-1] == '\n' {
		if t := r.re.FindSubmatchIndex(b[:len(b)-1]); t != nil && (m == nil || t[0] < m[0]) {
			return t
		}
	}
	return m
}

// Compile compiles pattern with ngx.re option letters: i (caseless), m
// (multiline), s (dotall), x (extended), a (anchored), d (longest match,
// standing in for PCRE's DFA mode); j, o, u, U, J, D change nothing here.
// Other letters fail as ngx.re does: `unknown flag "h" (flags "h")`.
func Compile(pattern, opts string) (*Regexp, error) {
	var flags []byte
	multiline := false
	anchored, longest := false, false
	for i := 0; i < len(opts); i++ {
		switch c := opts[i]; c {
		case 'i', 'm', 's':
			flags = append(flags, c)
			multiline = multiline || c == 'm'
		case 'x':
			pattern = stripExtended(pattern)
		case 'a':
			anchored = true
		case 'd':
			longest = true
		case 'j', 'o', 'u', 'U', 'J', 'D':
		default:
			return nil, fmt.Errorf("unknown flag %q (flags %q)", string(c), opts)
		}
	}
	if anchored {
		pattern = `\A(?:` + pattern + `)`
	}
	if len(flags) > 0 {
		pattern = "(?" + string(flags) + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, rePCREOnly)
	}
	if longest {
		re.Longest()
	}
	return &Regexp{re: re, eol: !multiline && hasDollar(pattern)}, nil
}

// hasDollar reports whether p has a '$' anchor outside classes and escapes.
func hasDollar(p string) bool {
	inClass := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == '$':
			return true
		}
	}
	return false
}

// stripExtended removes PCRE extended-mode whitespace and #-comments outside
// character classes and escapes.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Replacement is a compiled ngx.re.sub replacement template. Immutable.
type Replacement struct {
	segs []rseg
}

type rseg struct {
	lit   []byte
	group int // -1: literal
}

// CompileReplacement compiles tpl as ngx.re.sub reads it: "$N" and "${N}"
// insert capture N (0 is the whole match), "$$" is a '$'.
func CompileReplacement(tpl string) (*Replacement, error) {
	r := &Replacement{}
	var lit []byte
	for i := 0; i < len(tpl); {
		if tpl[i] != '$' {
			lit = append(lit, tpl[i])
			i++
			continue
		}
		i++
		if i == len(tpl) {
			return nil, ErrBadReplacement
		}
		if tpl[i] == '$' {
			lit = append(lit, '$')
			i++
			continue
		}
		bracket := tpl[i] == '{'
		if bracket {
			i++
		}
		start, n := i, 0
		for i < len(tpl) && tpl[i] >= '0' && tpl[i] <= '9' {
			if n < 1<<20 {
				n = n*10 + int(tpl[i]-'0')
			}
			i++
		}
		if i == start {
			return nil, ErrBadReplacement
		}
		if bracket {
			if i == len(tpl) || tpl[i] != '}' {
				return nil, fmt.Errorf("the closing bracket in %q variable is missing", tpl[start-2:i])
			}
			i++
		}
		if len(lit) > 0 {
			r.segs = append(r.segs, rseg{lit: lit, group: -1})
			lit = nil
		}
		r.segs = append(r.segs, rseg{group: n})
	}
	if len(lit) > 0 {
		r.segs = append(r.segs, rseg{lit: lit, group: -1})
	}
	return r, nil
}

// Append appends the replacement for one match (m as FindSubmatchIndex
// gives it, into subject) to dst. A group that did not take part, or does
// not exist, inserts nothing.
func (r *Replacement) Append(dst, subject []byte, m []int) []byte {
	for _, s := range r.segs {
		if s.group < 0 {
			dst = append(dst, s.lit...)
			continue
		}
		if 2*s.group+1 < len(m) && m[2*s.group] >= 0 {
			dst = append(dst, subject[m[2*s.group]:m[2*s.group+1]]...)
		}
	}
	return dst
}

// Sub appends subject with its first match of re replaced (ngx.re.sub) to
// dst, and reports whether there was a match.
func Sub(dst, subject []byte, re *Regexp, r *Replacement) ([]byte, bool) {
	m := re.FindSubmatchIndex(subject)
	if m == nil {
		return append(dst, subject...), false
	}
	dst = append(dst, subject[:m[0]]...)
	dst = r.Append(dst, subject, m)
	return append(dst, subject[m[1]:]...), true
}

// SubexpNames returns the capture groups' names ("" for unnamed ones).
func (r *Regexp) SubexpNames() []string { return r.re.SubexpNames() }

// FindAllSubmatchIndex returns up to n (all when n < 0) successive matches'
// group offsets, as regexp's does, with PCRE's '$'.
func (r *Regexp) FindAllSubmatchIndex(b []byte, n int) [][]int {
	end := b
	if r.eol && len(b) > 0 && b[len(b)-1] == '\n' {
		end = b[:len(b)-1] // '$' before the final newline
	}
	return r.re.FindAllSubmatchIndex(end, n)
}

// GSub appends subject with every match of re replaced (ngx.re.gsub).
func GSub(dst, subject []byte, re *Regexp, r *Replacement) []byte {
	last := 0
	for _, m := range re.FindAllSubmatchIndex(subject, -1) {
		dst = append(dst, subject[last:m[0]]...)
		dst = r.Append(dst, subject, m)
		last = m[1]
	}
	return append(dst, subject[last:]...)
}
