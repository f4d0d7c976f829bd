package vartmpl

import "github.com/sluicegw/sluice/expr"

// CompileRedirect compiles a redirect plugin uri template, read as
// redirect.lua's pattern does, left to right:
//
//	\$name      literal, backslash included
//	${name}     a variable (name: [0-9a-zA-Z_]+)
//	$name       a variable
//	$           a lone dollar ("$$uri" is "$" then $uri)
//
// Any other byte after a backslash is dropped, as the Lua gmatch skips it.
// An absent variable expands to "".
func CompileRedirect(tpl string) *Template {
	t := &Template{src: tpl}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.segs = append(t.segs, seg{kind: segLit, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(tpl); {
		switch tpl[i] {
		case '\\':
			if i+1 < len(tpl) && tpl[i+1] == '$' {
				if end := alnumEnd(tpl, i+2); end > i+2 {
					lit = append(lit, tpl[i:end]...)
					i = end
					continue
				}
			}
			i++ // the gmatch finds nothing here and moves on
		case '$':
			if i+1 < len(tpl) && tpl[i+1] == '{' {
				if end := alnumEnd(tpl, i+2); end > i+2 && end < len(tpl) && tpl[end] == '}' {
					flush()
					t.segs = append(t.segs, seg{kind: segVar, v: expr.ParseVar(tpl[i+2 : end])})
					i = end + 1
					continue
				}
			}
			if end := alnumEnd(tpl, i+1); end > i+1 {
				flush()
				t.segs = append(t.segs, seg{kind: segVar, v: expr.ParseVar(tpl[i+1 : end])})
				i = end
				continue
			}
			lit = append(lit, '$')
			i++
		default:
			lit = append(lit, tpl[i])
			i++
		}
	}
	flush()
	t.static = len(t.segs) == 0 || (len(t.segs) == 1 && t.segs[0].kind == segLit)
	return t
}

func alnumEnd(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			i++
			continue
		}
		break
	}
	return i
}
