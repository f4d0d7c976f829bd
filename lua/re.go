package lua

import (
	"regexp"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// ngx.re with Go's RE2: OpenResty's PCRE options i, s, m map onto RE2
// flags; j, o, d, u, D are accepted and ignored (compilation is cached
// anyway); x (extended) is refused, as are patterns RE2 cannot express.

// maxCachedRegexps bounds a VM's compiled-pattern cache.
const maxCachedRegexps = 1024

type reKey struct{ pattern, options string }

func (vm *VM) regexp(L *glua.LState, pattern, options string) *regexp.Regexp {
	k := reKey{pattern, options}
	if re, ok := vm.res[k]; ok {
		return re
	}
	var flags strings.Builder
	for _, o := range options {
		switch o {
		case 'i', 's', 'm':
			flags.WriteRune(o)
		case 'j', 'o', 'd', 'u', 'D', 'J':
		default:
			L.RaiseError("ngx.re: option %q is not supported by sluice (RE2)", string(o))
		}
	}
	src := pattern
	if flags.Len() > 0 {
		src = "(?" + flags.String() + ")" + pattern
	}
	re, err := regexp.Compile(src)
	if err != nil {
		L.RaiseError("ngx.re: bad pattern %q: %s", pattern, err.Error())
	}
	if len(vm.res) >= maxCachedRegexps {
		clear(vm.res)
	}
	vm.res[k] = re
	return re
}

func (vm *VM) reTable() *glua.LTable {
	L := vm.L
	vm.res = map[reKey]*regexp.Regexp{}
	t := L.NewTable()
	L.SetFuncs(t, map[string]glua.LGFunction{
		// match(subject, regex, options) → captures (m[0] whole, m[1]...) or nil
		"match": func(L *glua.LState) int {
			s := L.CheckString(1)
			re := vm.regexp(L, L.CheckString(2), L.OptString(3, ""))
			loc := re.FindStringSubmatchIndex(s)
			if loc == nil {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(captures(L, re, s, loc))
			return 1
		},
		// find(subject, regex, options) → from, to (1-based, inclusive) or nil
		"find": func(L *glua.LState) int {
			s := L.CheckString(1)
			re := vm.regexp(L, L.CheckString(2), L.OptString(3, ""))
			loc := re.FindStringIndex(s)
			if loc == nil {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(glua.LNumber(loc[0] + 1))
			L.Push(glua.LNumber(loc[1]))
			return 2
		},
		"gsub": func(L *glua.LState) int { return vm.substitute(L, -1) },
		"sub":  func(L *glua.LState) int { return vm.substitute(L, 1) },
	})
	return t
}

func captures(L *glua.LState, re *regexp.Regexp, s string, loc []int) *glua.LTable {
	m := L.NewTable()
	names := re.SubexpNames()
	for i := 0; 2*i < len(loc); i++ {
		var v glua.LValue = glua.LFalse // an unmatched group, as OpenResty
		if loc[2*i] >= 0 {
			v = glua.LString(s[loc[2*i]:loc[2*i+1]])
		}
		m.RawSetInt(i, v)
		if i < len(names) && names[i] != "" {
			m.RawSetString(names[i], v)
		}
	}
	return m
}

// substitute is gsub (n = -1) and sub (n = 1): the replacement is a
// template ($0, $1, ${name}) or a function of the captures table. It
// returns the new string and the number of substitutions.
func (vm *VM) substitute(L *glua.LState, n int) int {
	s := L.CheckString(1)
	re := vm.regexp(L, L.CheckString(2), L.OptString(4, ""))
	repl := L.CheckAny(3)
	var b strings.Builder
	last, count := 0, 0
	for _, loc := range re.FindAllStringSubmatchIndex(s, n) {
		b.WriteString(s[last:loc[0]])
		switch r := repl.(type) {
		case *glua.LFunction:
			L.Push(r)
			L.Push(captures(L, re, s, loc))
			L.Call(1, 1)
			b.WriteString(glua.LVAsString(L.Get(-1)))
			L.Pop(1)
		default:
			b.Write(re.ExpandString(nil, glua.LVAsString(r), s, loc))
		}
		last = loc[1]
		count++
	}
	b.WriteString(s[last:])
	L.Push(glua.LString(b.String()))
	L.Push(glua.LNumber(count))
	return 2
}
