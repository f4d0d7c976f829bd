package vartmpl

import (
	"strings"

	"github.com/sluicegw/sluice/expr"
)

type segKind uint8

const (
	segLit     segKind = iota // literal bytes
	segVar                    // a request variable
	segCapture                // a regex capture
)

type seg struct {
	kind   segKind
	lit    []byte
	v      expr.Var
	dflt   []byte // the ?? default
	hasDef bool
	n      int // capture number
}

// Template is a compiled template. Immutable.
type Template struct {
	segs   []seg
	src    string
	static bool
}

// Captures are the groups of one regex match: Index as regexp's
// FindSubmatchIndex returns it, into Subject. The zero value has none.
type Captures struct {
	Subject []byte
	Index   []int
}

// Group returns capture n ("" when absent or unmatched).
func (c *Captures) Group(n int) []byte {
	if c == nil || 2*n+1 >= len(c.Index) || c.Index[2*n] < 0 {
		return nil
	}
	return c.Subject[c.Index[2*n]:c.Index[2*n+1]]
}

// Escaper appends v escaped to dst; it is applied to each variable's value
// (proxy-rewrite's escape_separator).
type Escaper func(dst, v []byte) []byte

// Compile compiles tpl as APISIX's resolve_var reads it, and also reads
// "$N"/"${N}" as regex captures when captures is set.
func Compile(tpl string, captures bool) *Template {
	t := &Template{src: tpl}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.segs = append(t.segs, seg{kind: segLit, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(tpl); {
		c := tpl[i]
		if c != '$' || (i > 0 && tpl[i-1] == '\\') {
			lit = append(lit, c)
			i++
			continue
		}
		if captures {
			if n, end, ok := parseCapture(tpl, i); ok {
				flush()
				t.segs = append(t.segs, seg{kind: segCapture, n: n})
				i = end
				continue
			}
		}
		if name, end, ok := parseVarName(tpl, i); ok {
			flush()
			s := seg{kind: segVar}
			if n, d, found := cutDefault(name); found {
				name = n
				s.dflt, s.hasDef = []byte(d), true
			}
			s.v = expr.ParseVar(name)
			t.segs = append(t.segs, s)
			i = end
			continue
		}
		lit = append(lit, c)
		i++
	}
	flush()
	t.static = len(t.segs) == 0 || (len(t.segs) == 1 && t.segs[0].kind == segLit)
	return t
}

// parseCapture reads resolve_var_with_captures's `\$\{?(\d+)\}?` at tpl[i]
// ('$').
func parseCapture(tpl string, i int) (n, end int, ok bool) {
	j := i + 1
	if j < len(tpl) && tpl[j] == '{' {
		j++
	}
	start := j
	for j < len(tpl) && tpl[j] >= '0' && tpl[j] <= '9' {
		n = n*10 + int(tpl[j]-'0')
		if n > 1<<20 {
			n = 1 << 20 // no regex has that many groups: absent
		}
		j++
	}
	if j == start {
		return 0, 0, false
	}
	if j < len(tpl) && tpl[j] == '}' {
		j++
	}
	return n, j, true
}

// parseVarName reads `\$(\{\s*([^}]+?)\s*\}|([\w\.]+))` at tpl[i] ('$').
func parseVarName(tpl string, i int) (name string, end int, ok bool) {
	j := i + 1
	if j < len(tpl) && tpl[j] == '{' {
		k := strings.IndexByte(tpl[j+1:], '}')
		if k < 0 {
			return "", 0, false
		}
		inner := tpl[j+1 : j+1+k]
		if inner == "" {
			return "", 0, false
		}
		if t := strings.TrimSpace(inner); t != "" {
			inner = t
		}
		return inner, j + 1 + k + 1, true
	}
	start := j
	for j < len(tpl) && isWordOrDot(tpl[j]) {
		j++
	}
	if j == start {
		return "", 0, false
	}
	return tpl[start:j], j, true
}

func isWordOrDot(c byte) bool {
	return c == '_' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// cutDefault splits "name ?? default" as ngx_re.split(v, [[\s*\?\?\s*]]).
func cutDefault(s string) (name, dflt string, found bool) {
	i := strings.Index(s, "??")
	if i < 0 {
		return s, "", false
	}
	name = strings.TrimRight(s[:i], " \t\r\n\f\v")
	rest := strings.TrimLeft(s[i+2:], " \t\r\n\f\v")
	if j := strings.Index(rest, "??"); j >= 0 { // a third segment is ignored
		rest = strings.TrimRight(rest[:j], " \t\r\n\f\v")
	}
	return name, rest, true
}

// Source returns the template's text.
func (t *Template) Source() string { return t.src }

// Static returns the template's value when it has no variables or
// captures.
func (t *Template) Static() ([]byte, bool) {
	if !t.static {
		return nil, false
	}
	if len(t.segs) == 0 {
		return []byte{}, true
	}
	return t.segs[0].lit, true
}

// HasCaptures reports whether the template refers to a regex capture.
func (t *Template) HasCaptures() bool {
	for i := range t.segs {
		if t.segs[i].kind == segCapture {
			return true
		}
	}
	return false
}

// Append expands the template onto dst: variables from vars, captures from
// caps (nil: none), each variable's value passed through esc when set.
func (t *Template) Append(dst []byte, vars expr.Vars, caps *Captures, esc Escaper) []byte {
	dst, _ = t.AppendCount(dst, vars, caps, esc)
	return dst
}

// AppendCount is Append that also returns how many variables resolved:
// present, or absent with a "?? default" (resolve_var's n_resolved, which
// counts a default too; chash's vars_combinations falls back to
// remote_addr only when nothing resolved).
func (t *Template) AppendCount(dst []byte, vars expr.Vars, caps *Captures, esc Escaper) ([]byte, int) {
	resolved := 0
	for i := range t.segs {
		s := &t.segs[i]
		switch s.kind {
		case segLit:
			dst = append(dst, s.lit...)
		case segCapture:
			dst = append(dst, caps.Group(s.n)...)
		case segVar:
			v, ok := vars.Value(&s.v)
			if !ok {
				if !s.hasDef {
					continue
				}
				v = s.dflt
			}
			resolved++
			if esc != nil {
				dst = esc(dst, v)
			} else {
				dst = append(dst, v...)
			}
		}
	}
	return dst, resolved
}
