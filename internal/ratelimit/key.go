package ratelimit

import (
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// KeyType is a conf's key_type.
type KeyType uint8

// Key types, as APISIX names them.
const (
	KeyVar            KeyType = iota // key names one variable ("remote_addr", "http_x")
	KeyVarCombination                // key is a template of $variables ("$remote_addr $http_x")
	KeyConstant                      // key is the key itself
)

func (k KeyType) String() string {
	switch k {
	case KeyVar:
		return "var"
	case KeyVarCombination:
		return "var_combination"
	case KeyConstant:
		return "constant"
	}
	return "invalid"
}

// ParseKeyType decodes a key_type.
func ParseKeyType(s string) (KeyType, error) {
	switch s {
	case "", "var":
		return KeyVar, nil
	case "var_combination":
		return KeyVarCombination, nil
	case "constant":
		return KeyConstant, nil
	}
	return 0, fmt.Errorf("ratelimit: unknown key_type %q", s)
}

var remoteAddr = expr.ParseVar("remote_addr")

// Key is a compiled key_type and key: what a request is counted under.
// Immutable.
type Key struct {
	typ      KeyType
	v        expr.Var // KeyVar
	tpl      Template // KeyVarCombination
	constant []byte   // KeyConstant
}

// CompileKey compiles a conf's key_type and key.
func CompileKey(typ KeyType, key string) Key {
	k := Key{typ: typ}
	switch typ {
	case KeyVar:
		k.v = expr.ParseVar(key)
	case KeyVarCombination:
		k.tpl = CompileTemplate(key)
	case KeyConstant:
		k.constant = []byte(key)
	}
	return k
}

// Append appends the request's key to dst, as APISIX's rate_limit does: a
// var's value, a combination with at least one variable resolved, or the
// constant; when the value is absent (a var not set, a combination that
// resolved nothing), the client's address.
func (k *Key) Append(dst []byte, c *reqctx.Ctx) []byte {
	switch k.typ {
	case KeyVar:
		if v, ok := c.Value(&k.v); ok {
			return append(dst, v...)
		}
	case KeyVarCombination:
		out, n := k.tpl.Append(dst, c)
		if n > 0 {
			return out
		}
	case KeyConstant:
		return append(dst, k.constant...)
	}
	v, _ := c.Value(&remoteAddr)
	return append(dst, v...)
}

// RuleKey is the counter key of one limit of a conf: the conf's own key
// (OwnKey), or a rules entry's template (EntryKey). Unlike the conf's key,
// an entry's has no fallback: a request for which it resolves no variable
// is not counted under that entry at all (APISIX 3.16's rules). Immutable.
type RuleKey struct {
	own     Key
	entry   Template
	isEntry bool
}

// OwnKey is the RuleKey of a conf's own key_type and key.
func OwnKey(k Key) RuleKey { return RuleKey{own: k} }

// EntryKey is the RuleKey of a rules entry's key, a template.
func EntryKey(tpl string) RuleKey { return RuleKey{entry: CompileTemplate(tpl), isEntry: true} }

// Append appends the request's key to dst. It reports false, returning dst
// as it was, when the key is a rules entry's that resolves no variable.
func (k *RuleKey) Append(dst []byte, c *reqctx.Ctx) ([]byte, bool) {
	if !k.isEntry {
		return k.own.Append(dst, c), true
	}
	from := len(dst)
	out, n := k.entry.Append(dst, c)
	if n == 0 {
		return out[:from], false
	}
	return out, true
}

// Prefix returns what every counter key of a conf starts with, APISIX's
// gen_limit_key: "<group>:" for a conf in a group (routes of a group share
// counters), else "<owner>:<crc32 of the conf>:" so that a changed conf
// starts from zero while an unchanged one recompiled keeps counting. owner
// is the resource key of the object the conf belongs to
// ("/apisix/routes/1"), conf the conf as compiled (defaults filled in);
// inGroup says whether the conf has a group (which may be "").
func Prefix(owner string, inGroup bool, group string, conf []byte) []byte {
	if inGroup {
		return []byte(group + ":")
	}
	return fmt.Appendf(nil, "%s:%d:", owner, crc32.ChecksumIEEE(conf))
}

// Template is a compiled core.utils.resolve_var template: "$name" (name of
// word characters and dots), "${name}" and "${name ?? default}" are
// replaced by the request's variables ("" when absent, or the default); a
// "$" preceded by a backslash is left as written. Immutable.
//
// internal/vartmpl parses the same syntax but is not used here: its
// AppendCount counts only variables present, while resolve_var's
// n_resolved (utils.lua) also counts one that fell back to its default,
// and whether a var_combination key falls back to remote_addr or a rules
// entry applies turns on that count.
type Template struct {
	parts []part
}

type part struct {
	lit    []byte // a literal run, when !isVar
	isVar  bool
	v      expr.Var
	def    []byte
	hasDef bool
}

// CompileTemplate compiles tpl.
func CompileTemplate(tpl string) Template {
	var t Template
	lit := []byte(nil)
	flush := func() {
		if len(lit) > 0 {
			t.parts = append(t.parts, part{lit: lit})
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
		rest := tpl[i+1:]
		if strings.HasPrefix(rest, "{") {
			if end := strings.IndexByte(rest, '}'); end > 1 {
				if p, ok := bracedVar(rest[1:end]); ok {
					flush()
					t.parts = append(t.parts, p)
					i += 1 + end + 1
					continue
				}
			}
		}
		n := 0
		for n < len(rest) && isNameByte(rest[n]) {
			n++
		}
		if n == 0 {
			lit = append(lit, c)
			i++
			continue
		}
		flush()
		t.parts = append(t.parts, part{isVar: true, v: expr.ParseVar(rest[:n])})
		i += 1 + n
	}
	flush()
	return t
}

// bracedVar compiles the inside of "${...}": a name, optionally "?? default"
// (PCRE's \s*([^}]+?)\s* then a split on \s*\?\?\s*).
func bracedVar(in string) (part, bool) {
	if in == "" {
		return part{}, false
	}
	in = strings.TrimSpace(in) // all blanks: a name nothing answers to
	name, def, hasDef := strings.Cut(in, "??")
	p := part{isVar: true, v: expr.ParseVar(strings.TrimSpace(name))}
	if hasDef {
		def = strings.TrimSpace(def)
		if d, _, more := strings.Cut(def, "??"); more {
			def = strings.TrimSpace(d) // ngx_re.split keeps only the second field
		}
		p.def, p.hasDef = []byte(def), true
	}
	return p, true
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// HasVars reports whether the template names any variable (a string
// without one is used as written).
func (t *Template) HasVars() bool {
	for i := range t.parts {
		if t.parts[i].isVar {
			return true
		}
	}
	return false
}

// Append renders the template for c onto dst and returns it with the
// number of variables resolved (present, or absent with a default), as
// resolve_var's n_resolved.
func (t *Template) Append(dst []byte, c *reqctx.Ctx) ([]byte, int) {
	n := 0
	for i := range t.parts {
		p := &t.parts[i]
		if !p.isVar {
			dst = append(dst, p.lit...)
			continue
		}
		if v, ok := c.Value(&p.v); ok {
			dst = append(dst, v...)
			n++
		} else if p.hasDef {
			dst = append(dst, p.def...)
			n++
		}
	}
	return dst, n
}
