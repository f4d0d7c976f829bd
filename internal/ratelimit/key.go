package ratelimit

import (
	"fmt"
	"hash/crc32"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
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
	v        expr.Var          // KeyVar
	tpl      *vartmpl.Template // KeyVarCombination
	constant []byte            // KeyConstant
}

// CompileKey compiles a conf's key_type and key.
func CompileKey(typ KeyType, key string) Key {
	k := Key{typ: typ}
	switch typ {
	case KeyVar:
		k.v = expr.ParseVar(key)
	case KeyVarCombination:
		k.tpl = vartmpl.Compile(key, false)
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
		out, n := k.tpl.AppendCount(dst, c, nil, nil)
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
	entry   *vartmpl.Template
	isEntry bool
}

// OwnKey is the RuleKey of a conf's own key_type and key.
func OwnKey(k Key) RuleKey { return RuleKey{own: k} }

// EntryKey is the RuleKey of a rules entry's key, a template.
func EntryKey(tpl string) RuleKey { return RuleKey{entry: vartmpl.Compile(tpl, false), isEntry: true} }

// Append appends the request's key to dst. It reports false, returning dst
// as it was, when the key is a rules entry's that resolves no variable.
func (k *RuleKey) Append(dst []byte, c *reqctx.Ctx) ([]byte, bool) {
	if !k.isEntry {
		return k.own.Append(dst, c), true
	}
	from := len(dst)
	out, n := k.entry.AppendCount(dst, c, nil, nil)
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
