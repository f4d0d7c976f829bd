package expr

import (
	"bytes"
	"net/netip"

	"github.com/sluicegw/sluice/internal/bytestr"
)

// Eval reports whether the rule holds for vars. It allocates nothing.
func (e *Expr) Eval(vars Vars) bool {
	if e == nil || e.root == nil {
		return true
	}
	return e.root.eval(vars)
}

func (n *node) eval(vars Vars) bool {
	switch n.logic {
	case leaf:
		return n.compare(vars) != n.neg
	case and:
		return n.all(vars)
	case or:
		return n.any(vars)
	case notAnd:
		return !n.all(vars)
	default: // notOr
		return !n.any(vars)
	}
}

func (n *node) all(vars Vars) bool {
	for _, k := range n.kids {
		if !k.eval(vars) {
			return false
		}
	}
	return true
}

func (n *node) any(vars Vars) bool {
	for _, k := range n.kids {
		if k.eval(vars) {
			return true
		}
	}
	return false
}

// compare applies the operator as lua-resty-expr's compare_funcs do; l is
// absent when the variable is.
func (n *node) compare(vars Vars) bool {
	var (
		l  []byte
		ok bool
	)
	if n.v.Kind != VarUnknown {
		l, ok = vars.Value(&n.v)
	}
	switch n.op {
	case opEq:
		return n.equal(l, ok)
	case opNe:
		if n.numeric {
			f, isNum := toNumber(l, ok)
			return !isNum || f != n.rhsNum
		}
		return !n.equal(l, ok)
	case opGt, opGe, opLt, opLe:
		f, isNum := toNumber(l, ok)
		if !isNum || !n.numeric {
			return false
		}
		switch n.op {
		case opGt:
			return f > n.rhsNum
		case opGe:
			return f >= n.rhsNum
		case opLt:
			return f < n.rhsNum
		default:
			return f <= n.rhsNum
		}
	case opRegex, opRegexFold:
		return ok && n.re.Match(l)
	case opIn:
		if !ok || n.rhs.kind != valArray {
			return false
		}
		for i := range n.rhs.arr {
			if a := &n.rhs.arr[i]; a.kind == valString && bytes.Equal(a.s, l) {
				return true
			}
		}
		return false
	case opHas:
		return false // request variables are strings, never lists
	case opIPMatch:
		if !ok {
			return false
		}
		ip, err := netip.ParseAddr(bytestr.String(l))
		if err != nil {
			return false
		}
		ip = ip.Unmap()
		for _, p := range n.ips {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	return false
}

// equal is Lua's ==: a number on the right converts the left; nil equals
// only nil; a string equals the same bytes; booleans, arrays and objects
// never equal a request variable.
func (n *node) equal(l []byte, ok bool) bool {
	if n.numeric {
		f, isNum := toNumber(l, ok)
		return isNum && f == n.rhsNum
	}
	switch n.rhs.kind {
	case valNil:
		return !ok
	case valString:
		return ok && bytes.Equal(l, n.rhs.s)
	}
	return false
}

func toNumber(l []byte, ok bool) (float64, bool) {
	if !ok {
		return 0, false
	}
	return luaToNumber(l)
}
