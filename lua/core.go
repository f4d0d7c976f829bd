package lua

import (
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/jsonschema"
)

// coreModule is require("apisix.core"): the part of APISIX's core API that
// plugins and serverless functions use most. A missing name raises
// "apisix.core.<name> is not supported by sluice".
func (vm *VM) coreModule() *glua.LTable {
	L := vm.L
	core := L.NewTable()
	sub := func(name string, funcs map[string]glua.LGFunction) *glua.LTable {
		t := L.NewTable()
		L.SetFuncs(t, funcs)
		vm.unsupported(t, "apisix.core."+name)
		core.RawSetString(name, t)
		return t
	}
	sub("request", map[string]glua.LGFunction{
		"header": func(L *glua.LState) int {
			L.Push(vm.lstrOrNil(vm.request(L).Header(L.CheckString(2))))
			return 1
		},
		"headers":    func(L *glua.LState) int { L.Push(vm.headers(vm.request(L))); return 1 },
		"set_header": func(L *glua.LState) int { vm.setReqHeader(L, 2); return 0 },
		"add_header": func(L *glua.LState) int {
			vm.request(L).AddHeader(L.CheckString(2), bytestr.Bytes(L.CheckString(3)))
			return 0
		},
		"get_method":           func(L *glua.LState) int { L.Push(vm.lstr(vm.request(L).Method())); return 1 },
		"get_host":             func(L *glua.LState) int { L.Push(vm.lstr(vm.request(L).Host())); return 1 },
		"get_path":             func(L *glua.LState) int { L.Push(vm.lstr(vm.request(L).URI())); return 1 },
		"get_uri_args":         func(L *glua.LState) int { L.Push(argsTable(L, string(vm.request(L).Args()))); return 1 },
		"set_uri_args":         func(L *glua.LState) int { setURIArgs(L, vm.request(L), 2); return 0 },
		"get_remote_client_ip": func(L *glua.LState) int { L.Push(vm.lstr(vm.request(L).RemoteText)); return 1 },
		"get_body": func(L *glua.LState) int {
			c := vm.request(L)
			if c.Body == nil {
				L.Push(glua.LNil)
				L.Push(glua.LString("the request body is not buffered (sluice reads bodies that arrived with the head)"))
				return 2
			}
			if limit := L.OptInt(1, 0); limit > 0 && len(c.Body) > limit {
				L.Push(glua.LNil)
				L.Push(glua.LString(fmt.Sprintf("request size %d is greater than the maximum size %d allowed", len(c.Body), limit)))
				return 2
			}
			L.Push(glua.LString(c.Body))
			return 1
		},
	})
	sub("response", map[string]glua.LGFunction{
		"exit": vm.coreExit,
		"set_header": func(L *glua.LState) int {
			c := vm.request(L)
			for i := 1; i+1 <= L.GetTop(); i += 2 {
				name := L.CheckString(i)
				if v := L.Get(i + 1); v == glua.LNil {
					c.DelRespHeader(name)
				} else {
					c.SetRespHeader(name, bytestr.Bytes(glua.LVAsString(v)))
				}
			}
			return 0
		},
		"add_header": func(L *glua.LState) int {
			c := vm.request(L)
			for i := 1; i+1 <= L.GetTop(); i += 2 {
				c.AddRespHeader(L.CheckString(i), bytestr.Bytes(glua.LVAsString(L.Get(i+1))))
			}
			return 0
		},
	})
	logs := map[string]glua.LGFunction{}
	for name, level := range map[string]int{"emerg": 1, "alert": 2, "crit": 3, "error": 4, "warn": 5, "notice": 6, "info": 7, "debug": 8} {
		logs[name] = func(L *glua.LState) int {
			var b strings.Builder
			for i := 1; i <= L.GetTop(); i++ {
				b.WriteString(glua.LVAsString(L.Get(i)))
			}
			vm.log(level, b.String())
			return 0
		}
	}
	sub("log", logs)
	jsonT := sub("json", map[string]glua.LGFunction{
		"encode": func(L *glua.LState) int {
			s, err := encodeJSON(L.CheckAny(1))
			if err != nil {
				L.Push(glua.LNil)
				L.Push(glua.LString(err.Error()))
				return 2
			}
			L.Push(glua.LString(s))
			return 1
		},
		"decode": func(L *glua.LState) int {
			v, err := decodeJSON(L, L.CheckString(1))
			if err != nil {
				L.Push(glua.LNil)
				L.Push(glua.LString(err.Error()))
				return 2
			}
			L.Push(v)
			return 1
		},
	})
	jsonT.RawSetString("delay_encode", jsonT.RawGetString("encode"))
	sub("table", map[string]glua.LGFunction{
		"new": func(L *glua.LState) int { L.Push(L.CreateTable(L.OptInt(1, 0), L.OptInt(2, 0))); return 1 },
		"clear": func(L *glua.LState) int {
			t := L.CheckTable(1)
			var keys []glua.LValue
			t.ForEach(func(k, _ glua.LValue) { keys = append(keys, k) })
			for _, k := range keys {
				t.RawSet(k, glua.LNil)
			}
			return 0
		},
		"nkeys": func(L *glua.LState) int {
			n := 0
			L.CheckTable(1).ForEach(func(_, _ glua.LValue) { n++ })
			L.Push(glua.LNumber(n))
			return 1
		},
		"insert": func(L *glua.LState) int {
			t := L.CheckTable(1)
			for i := 2; i <= L.GetTop(); i++ {
				t.Append(L.Get(i))
			}
			return 0
		},
		"array_find": func(L *glua.LState) int {
			t, v := L.CheckTable(1), L.CheckAny(2)
			for i := 1; i <= t.Len(); i++ {
				if L.Equal(t.RawGetInt(i), v) {
					L.Push(glua.LNumber(i))
					L.Push(t.RawGetInt(i))
					return 2
				}
			}
			L.Push(glua.LNil)
			return 1
		},
		"deepcopy": func(L *glua.LState) int {
			g, err := ToGo(L.CheckAny(1))
			if err != nil {
				L.RaiseError("core.table.deepcopy: %s", err.Error())
			}
			L.Push(FromGo(L, g))
			return 1
		},
		"concat": func(L *glua.LState) int {
			t := L.CheckTable(1)
			sep := L.OptString(2, "")
			parts := make([]string, 0, t.Len())
			for i := 1; i <= t.Len(); i++ {
				parts = append(parts, glua.LVAsString(t.RawGetInt(i)))
			}
			L.Push(glua.LString(strings.Join(parts, sep)))
			return 1
		},
	})
	sub("string", map[string]glua.LGFunction{
		"has_prefix": func(L *glua.LState) int {
			L.Push(glua.LBool(strings.HasPrefix(L.CheckString(1), L.CheckString(2))))
			return 1
		},
		"has_suffix": func(L *glua.LState) int {
			L.Push(glua.LBool(strings.HasSuffix(L.CheckString(1), L.CheckString(2))))
			return 1
		},
		"find": func(L *glua.LState) int {
			s, p := L.CheckString(1), L.CheckString(2)
			from := L.OptInt(3, 1)
			if from < 1 {
				from = 1
			}
			if from > len(s)+1 {
				L.Push(glua.LNil)
				return 1
			}
			i := strings.Index(s[from-1:], p)
			if i < 0 {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(glua.LNumber(from + i))
			L.Push(glua.LNumber(from + i + len(p) - 1))
			return 2
		},
	})
	sub("schema", map[string]glua.LGFunction{"check": vm.schemaCheck})
	core.RawSetString("version", glua.LString("3.18.0"))
	vm.unsupported(core, "apisix.core")
	return core
}

// unsupported makes reading a missing field of t an error naming it.
func (vm *VM) unsupported(t *glua.LTable, prefix string) {
	L := vm.L
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("%s.%s is not supported by sluice", prefix, glua.LVAsString(L.Get(2)))
		return 0
	}))
	L.SetMetatable(t, meta)
}

// coreExit is core.response.exit(code, body): body a string, or a table
// sent as JSON and "\n".
func (vm *VM) coreExit(L *glua.LState) int {
	vm.request(L)
	vm.exit = L.CheckInt(1)
	switch b := L.Get(2).(type) {
	case *glua.LNilType:
	case *glua.LTable:
		s, err := encodeJSON(b)
		if err != nil {
			L.RaiseError("core.response.exit: %s", err.Error())
		}
		vm.out = append(append(vm.out[:0], s...), '\n')
		vm.exitOK = true
	default:
		vm.out = append(vm.out[:0], glua.LVAsString(b)...)
		vm.exitOK = true
	}
	L.Error(exitSignal, 0)
	return 0
}

// schemaCheck is core.schema.check(schema, conf): true, or false and the
// failure (APISIX's jsonschema wording). Schemas are compiled once per
// table per VM; defaults are written back into conf, as APISIX's are.
func (vm *VM) schemaCheck(L *glua.LState) int {
	st := L.CheckTable(1)
	sch, ok := vm.schemas[st]
	if !ok {
		doc, err := ToGo(st)
		m, isObj := doc.(map[string]any)
		if err != nil || !isObj {
			L.Push(glua.LFalse)
			L.Push(glua.LString("invalid schema"))
			return 2
		}
		defs, _ := m["definitions"].(map[string]any)
		if sch, err = jsonschema.Compile(m, defs); err != nil {
			L.Push(glua.LFalse)
			L.Push(glua.LString(err.Error()))
			return 2
		}
		vm.schemas[st] = sch
	}
	confT := L.CheckTable(2)
	conf, err := ToGo(confT)
	if err == nil {
		if _, isArr := conf.([]any); isArr || conf == nil {
			conf = map[string]any{}
		}
		err = sch.Validate(conf)
	}
	if err != nil {
		L.Push(glua.LFalse)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	if m, ok := conf.(map[string]any); ok {
		for k, v := range m {
			if confT.RawGetString(k) == glua.LNil {
				confT.RawSetString(k, FromGo(L, v)) // defaults the schema filled in
			}
		}
	}
	L.Push(glua.LTrue)
	return 1
}

// require serves sluice's modules and the Lua plugin modules the runtime
// resolves; anything else is refused.
func (vm *VM) require(L *glua.LState) int {
	name := L.CheckString(1)
	if m, ok := vm.modules[name]; ok {
		L.Push(m)
		return 1
	}
	if vm.rt.opts.Modules != nil {
		if f, ok := vm.rt.opts.Modules(name); ok {
			v, err := vm.evaluate(f)
			if err != nil {
				L.RaiseError("require %q: %s", name, err.Error())
			}
			L.Push(v)
			return 1
		}
	}
	L.RaiseError("module '%s' not found (sluice's Lua sandbox provides apisix.core, cjson, cjson.safe, ngx.re and Lua plugins on its plugin path)", name)
	return 0
}
