package lua

import (
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/ngxre"
)

// ngx.re on RE2 with ngx.re's option letters and replacement templates
// (internal/ngxre, which the transformation plugins share). Patterns RE2
// cannot express fail with an error saying so.

// maxCachedRegexps bounds a VM's compiled-pattern cache.
const maxCachedRegexps = 1024

type reKey struct{ pattern, options string }

func (vm *VM) regexp(L *glua.LState, pattern, options string) *ngxre.Regexp {
	k := reKey{pattern, options}
	if re, ok := vm.res[k]; ok {
		return re
	}
	re, err := ngxre.Compile(pattern, options)
	if err != nil {
		L.RaiseError("ngx.re: %s", err.Error())
	}
	if len(vm.res) >= maxCachedRegexps {
		clear(vm.res)
	}
	vm.res[k] = re
	return re
}

func (vm *VM) reTable() *glua.LTable {
	L := vm.L
	vm.res = map[reKey]*ngxre.Regexp{}
	t := L.NewTable()
	L.SetFuncs(t, map[string]glua.LGFunction{
		// match(subject, regex, options) → captures (m[0] whole, m[1]...) or nil
		"match": func(L *glua.LState) int {
			s := L.CheckString(1)
			re := vm.regexp(L, L.CheckString(2), L.OptString(3, ""))
			loc := re.FindSubmatchIndex(bytestr.Bytes(s))
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
			loc := re.FindSubmatchIndex(bytestr.Bytes(s))
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

func captures(L *glua.LState, re *ngxre.Regexp, s string, loc []int) *glua.LTable {
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
// template ($0, $1, ${1}, $$) or a function of the captures table. It
// returns the new string and the number of substitutions.
func (vm *VM) substitute(L *glua.LState, n int) int {
	s := L.CheckString(1)
	re := vm.regexp(L, L.CheckString(2), L.OptString(4, ""))
	var tmpl *ngxre.Replacement
	fn, isFunc := L.CheckAny(3).(*glua.LFunction)
	if !isFunc {
		var err error
		if tmpl, err = ngxre.CompileReplacement(L.CheckString(3)); err != nil {
			L.RaiseError("ngx.re: %s", err.Error())
		}
	}
	subject := bytestr.Bytes(s)
	var b strings.Builder
	var out []byte
	last, count := 0, 0
	for _, loc := range re.FindAllSubmatchIndex(subject, n) {
		b.WriteString(s[last:loc[0]])
		if isFunc {
			L.Push(fn)
			L.Push(captures(L, re, s, loc))
			L.Call(1, 1)
			b.WriteString(glua.LVAsString(L.Get(-1)))
			L.Pop(1)
		} else {
			out = tmpl.Append(out[:0], subject, loc)
			b.Write(out)
		}
		last = loc[1]
		count++
	}
	b.WriteString(s[last:])
	L.Push(glua.LString(b.String()))
	L.Push(glua.LNumber(count))
	return 2
}
