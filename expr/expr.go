package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/bytestr"
)

// Compile errors, in lua-resty-expr's words (APISIX prefixes them with
// "failed to validate the 'vars' expression: ").
var (
	ErrNotWrapped   = errors.New("rule should be wrapped inside brackets")
	ErrRuleTooShort = errors.New("rule too short")
	ErrBadNot       = errors.New("bad 'not' expression")
	ErrInvalid      = errors.New("invalid expression")
)

// Expr is a compiled rule. The nil *Expr and the empty rule match
// everything. Immutable; safe to evaluate from any goroutine.
type Expr struct {
	root *node
	src  json.RawMessage
}

type logic uint8

const (
	leaf logic = iota
	and
	or
	notAnd
	notOr
)

type op uint8

const (
	opEq op = iota
	opNe
	opGt
	opGe
	opLt
	opLe
	opRegex
	opRegexFold
	opIn
	opHas
	opIPMatch
)

var opNames = map[string]op{
	"==": opEq, "~=": opNe, ">": opGt, ">=": opGe, "<": opLt, "<=": opLe,
	"~~": opRegex, "~*": opRegexFold, "in": opIn, "has": opHas, "ipmatch": opIPMatch,
}

type valueKind uint8

const (
	valNil valueKind = iota // JSON null, or no value: "absent"
	valString
	valNumber
	valBool
	valArray
	valObject
)

// value is a compiled right-hand side.
type value struct {
	kind valueKind
	s    []byte  // valString
	n    float64 // valNumber
	arr  []value // valArray
}

type node struct {
	logic logic
	kids  []*node

	// leaf
	v       Var
	op      op
	neg     bool
	rhs     value
	re      *regexp.Regexp
	ips     []netip.Prefix
	numeric bool // rhs is a number, or a numeric string for > >= < <=
	rhsNum  float64
}

// Compile compiles a rule from its JSON form. A missing rule (nil or JSON
// null) compiles to nil, which matches everything.
func Compile(rule json.RawMessage) (*Expr, error) {
	rule = bytes.TrimSpace(rule)
	if len(rule) == 0 || string(rule) == "null" {
		return nil, nil
	}
	var top []json.RawMessage
	if err := json.Unmarshal(rule, &top); err != nil {
		return nil, fmt.Errorf("%w: vars must be an array", ErrInvalid)
	}
	if len(top) == 0 {
		return &Expr{src: rule}, nil
	}
	if !isArray(top[0]) {
		s, ok := jsonString(top[0])
		if !ok || !isLogic(s) {
			return nil, ErrNotWrapped
		}
	}
	root, err := compileRule(top)
	if err != nil {
		return nil, err
	}
	return &Expr{root: root, src: rule}, nil
}

// MarshalJSON returns the rule as it was written.
func (e *Expr) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	return e.src, nil
}

// compileBranch compiles rules joined by one logic operator.
func compileBranch(l logic, rules []json.RawMessage) (*node, error) {
	n := &node{logic: l}
	for _, r := range rules {
		var sub []json.RawMessage
		if err := json.Unmarshal(r, &sub); err != nil {
			return nil, ErrInvalid
		}
		k, err := compileRule(sub)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, k)
	}
	return n, nil
}

func compileRule(rule []json.RawMessage) (*node, error) {
	if len(rule) == 0 {
		return nil, ErrRuleTooShort
	}
	if isArray(rule[0]) {
		return compileBranch(and, rule)
	}
	if s, ok := jsonString(rule[0]); ok && isLogic(s) {
		if len(rule) <= 2 {
			return nil, ErrRuleTooShort
		}
		return compileBranch(logicOf(s), rule[1:])
	}
	return compileLeaf(rule)
}

func isLogic(s string) bool {
	switch strings.ToUpper(s) {
	case "AND", "OR", "!AND", "!OR":
		return true
	}
	return false
}

func logicOf(s string) logic {
	switch strings.ToUpper(s) {
	case "OR":
		return or
	case "!AND":
		return notAnd
	case "!OR":
		return notOr
	}
	return and
}

// compileLeaf compiles [var, op, value], [var, "!", op, value] or the
// shorthand [var, value].
func compileLeaf(e []json.RawMessage) (*node, error) {
	n := &node{logic: leaf}
	var lhs, opRaw, rhsRaw json.RawMessage
	switch len(e) {
	case 4:
		if s, ok := jsonString(e[1]); !ok || s != "!" {
			return nil, ErrBadNot
		}
		n.neg = true
		lhs, opRaw, rhsRaw = e[0], e[2], e[3]
	case 3:
		lhs, opRaw, rhsRaw = e[0], e[1], e[2]
	case 2:
		lhs, opRaw = e[0], e[1]
	case 1:
		return nil, ErrInvalid
	default:
		return nil, ErrInvalid
	}
	// Lua lower-cases the operator with string.lower, which turns a number
	// into its string form; anything else makes it nil.
	opText, opIsText := jsonText(opRaw)
	if opIsText {
		opText = strings.ToLower(opText)
	}
	code, known := opNames[opText]
	if rhsRaw == nil && !known {
		// The shorthand: [var, value] means [var, "==", value].
		if !opIsText {
			return nil, ErrInvalid
		}
		rhsRaw, _ = json.Marshal(opText)
		code, known = opEq, true
	}
	if string(bytes.TrimSpace(lhs)) == "null" || !opIsText {
		return nil, ErrInvalid
	}
	// A variable name that is not a string (Lua would index ctx with it)
	// names nothing: the variable is always absent.
	name, _ := jsonString(lhs)
	if !known {
		return nil, fmt.Errorf("invalid operator '%s'", opText)
	}
	n.v = ParseVar(name)
	n.op = code
	rhs, err := decodeValue(rhsRaw)
	if err != nil {
		return nil, err
	}
	n.rhs = rhs
	return n, n.prepare()
}

// prepare precompiles what evaluation needs: numbers, regexps, IP sets.
func (n *node) prepare() error {
	switch n.op {
	case opEq, opNe:
		n.numeric = n.rhs.kind == valNumber
		n.rhsNum = n.rhs.n
	case opGt, opGe, opLt, opLe:
		switch n.rhs.kind {
		case valNumber:
			n.numeric, n.rhsNum = true, n.rhs.n
		case valString:
			n.rhsNum, n.numeric = luaToNumber(n.rhs.s)
		}
	case opRegex, opRegexFold:
		if n.rhs.kind != valString {
			return fmt.Errorf("%w: the regular expression must be a string", ErrInvalid)
		}
		pat := string(n.rhs.s)
		if n.op == opRegexFold {
			pat = "(?i)" + pat
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return fmt.Errorf("invalid regular expression %q: %w", n.rhs.s, err)
		}
		n.re = re
	case opIPMatch:
		var list []value
		switch n.rhs.kind {
		case valString:
			list = []value{n.rhs}
		case valArray:
			list = n.rhs.arr
		default:
			return fmt.Errorf("%w: ipmatch needs an IP, a CIDR or a list of them", ErrInvalid)
		}
		for _, v := range list {
			p, err := parseIPOrCIDR(v)
			if err != nil {
				return err
			}
			n.ips = append(n.ips, p)
		}
	}
	return nil
}

func parseIPOrCIDR(v value) (netip.Prefix, error) {
	if v.kind != valString {
		return netip.Prefix{}, fmt.Errorf("%w: ipmatch: not an IP address", ErrInvalid)
	}
	p, ok := ParsePrefix(string(v.s))
	if !ok {
		return netip.Prefix{}, fmt.Errorf("%w: ipmatch: invalid IP address or CIDR %q", ErrInvalid, v.s)
	}
	return p, nil
}

// ParsePrefix parses an IP address or a CIDR the way APISIX's ip rules
// read them: a bare address is a full-length prefix, a CIDR is masked.
func ParsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func decodeValue(raw json.RawMessage) (value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return value{kind: valNil}, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return value{}, ErrInvalid
		}
		return value{kind: valString, s: []byte(s)}, nil
	case 't', 'f':
		return value{kind: valBool}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return value{}, ErrInvalid
		}
		v := value{kind: valArray}
		for _, it := range items {
			iv, err := decodeValue(it)
			if err != nil {
				return value{}, err
			}
			v.arr = append(v.arr, iv)
		}
		return v, nil
	case '{':
		return value{kind: valObject}, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return value{}, ErrInvalid
	}
	return value{kind: valNumber, n: f}, nil
}

func isArray(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '['
}

func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	var s string
	// Unmarshal accepts null into a string; only a real string counts.
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonText returns a JSON string's text, or a number's text (Lua coerces
// numbers to strings where it needs one).
func jsonText(raw json.RawMessage) (string, bool) {
	if s, ok := jsonString(raw); ok {
		return s, true
	}
	raw = bytes.TrimSpace(raw)
	if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return luaNumberString(f), true
	}
	return "", false
}

// luaNumberString formats a number as Lua's tostring does for the common
// cases: integers without a decimal point, others with %.14g.
func luaNumberString(f float64) string {
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// luaToNumber converts like Lua's tonumber on a string: surrounding
// whitespace allowed, decimal or 0x hexadecimal; inf and nan are not numbers.
func luaToNumber(b []byte) (float64, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	s := bytestr.String(b)
	neg := false
	body := s
	if body[0] == '-' || body[0] == '+' {
		neg, body = body[0] == '-', body[1:]
	}
	if len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') {
		u, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		if neg {
			return -float64(u), true
		}
		return float64(u), true
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(('0' <= c && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+') {
			return 0, false // rules out inf, nan, underscores, hex floats
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}
