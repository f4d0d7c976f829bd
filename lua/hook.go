package lua

import (
	"encoding/json"
	"fmt"

	glua "github.com/yuin/gopher-lua"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// Conf is a plugin conf as Lua code receives it (the conf argument of a
// hook): decoded once, turned into a Lua table once per VM. Immutable.
type Conf struct {
	v any
}

// NewConf decodes a conf's JSON.
func NewConf(raw []byte) (*Conf, error) {
	c := &Conf{}
	if len(raw) == 0 {
		c.v = map[string]any{}
		return c, nil
	}
	if err := json.Unmarshal(raw, &c.v); err != nil {
		return nil, fmt.Errorf("lua: decoding conf: %w", err)
	}
	return c, nil
}

func (vm *VM) conf(c *Conf) glua.LValue {
	if c == nil {
		return glua.LNil
	}
	if t, ok := vm.confs[c]; ok {
		return t
	}
	if len(vm.confs) >= maxCachedFuncs {
		clear(vm.confs)
	}
	t, _ := FromGo(vm.L, c.v).(*glua.LTable)
	if t == nil {
		t = vm.L.NewTable()
	}
	vm.confs[c] = t
	return t
}

// RunHook calls a hook for request c in a rewrite, access or before_proxy
// phase: fn is the function f evaluates to (a serverless function), or,
// when method is not "", the method of the table f evaluates to (a Lua
// plugin module's phase function). Its outcome follows APISIX: returning
// (code, body) or calling ngx.exit / core.response.exit ends the request
// (a table body is sent as JSON); a Lua error or a call over budget ends it
// with 500 and is logged.
func (vm *VM) RunHook(c *reqctx.Ctx, phase string, f *Func, method string, conf *Conf) reqctx.Result {
	L := vm.L
	if !vm.push(c, f, method) {
		return c.Exit(500, nil)
	}
	L.Push(vm.conf(conf))
	L.Push(vm.ctxArg)
	vm.phase = phase
	if err := vm.call(c, 2, 2); err != nil {
		vm.log(4, fmt.Sprintf("%s: %s phase: %s", f.name, phase, err))
		return c.Exit(500, nil)
	}
	code, body := L.Get(-2), L.Get(-1)
	L.Pop(2)
	if vm.exit != 0 {
		if vm.exit < 100 {
			return reqctx.Continue // ngx.exit(ngx.OK) and friends: the hook is done
		}
		return vm.exitWith(c, vm.exit, vm.exitOK || vm.wrote)
	}
	if n, ok := code.(glua.LNumber); ok {
		switch b := body.(type) {
		case *glua.LNilType:
			return c.Exit(int(n), nil)
		case *glua.LTable:
			s, err := encodeJSON(b)
			if err != nil {
				vm.log(4, fmt.Sprintf("%s: encoding the response body: %s", f.name, err))
				return c.Exit(500, nil)
			}
			vm.out = append(append(vm.out[:0], s...), '\n')
		default:
			vm.out = append(vm.out[:0], glua.LVAsString(b)...)
		}
		return vm.exitWith(c, int(n), true)
	}
	if vm.wrote {
		return vm.exitWith(c, 200, true) // printed a body: that is the answer
	}
	return reqctx.Continue
}

func (vm *VM) exitWith(c *reqctx.Ctx, status int, withBody bool) reqctx.Result {
	if !withBody {
		return c.Exit(status, nil)
	}
	return c.Exit(status, vm.out)
}

// RunFilter calls a header_filter or log hook (no outcome but its edits).
func (vm *VM) RunFilter(c *reqctx.Ctx, phase string, f *Func, method string, conf *Conf) {
	if !vm.push(c, f, method) {
		return
	}
	vm.L.Push(vm.conf(conf))
	vm.L.Push(vm.ctxArg)
	vm.phase = phase
	if err := vm.call(c, 2, 0); err != nil {
		vm.log(4, fmt.Sprintf("%s: %s phase: %s", f.name, phase, err))
	}
}

// RunBodyFilter calls a body_filter hook with ngx.arg[1] = data and
// ngx.arg[2] = eof and returns ngx.arg[1] as the hook left it (valid until
// the VM's next body filter call).
func (vm *VM) RunBodyFilter(c *reqctx.Ctx, f *Func, method string, conf *Conf, data []byte, eof bool) []byte {
	if !vm.push(c, f, method) {
		return data
	}
	vm.arg.RawSetInt(1, glua.LString(data))
	vm.arg.RawSetInt(2, glua.LBool(eof))
	vm.L.Push(vm.conf(conf))
	vm.L.Push(vm.ctxArg)
	vm.phase = "body_filter"
	if err := vm.call(c, 2, 0); err != nil {
		vm.log(4, fmt.Sprintf("%s: body_filter phase: %s", f.name, err))
		return data
	}
	switch out := vm.arg.RawGetInt(1).(type) {
	case glua.LString:
		vm.bodyOut = append(vm.bodyOut[:0], out...)
	case *glua.LNilType:
		vm.bodyOut = vm.bodyOut[:0]
	default:
		vm.bodyOut = append(vm.bodyOut[:0], glua.LVAsString(out)...)
	}
	return vm.bodyOut
}

// Match runs a filter_func for request c: function(vars) returning true
// to let the route match. An error (or a call over budget) is logged and
// counts as no match.
func (vm *VM) Match(c *reqctx.Ctx, f *Func) bool {
	if !vm.push(c, f, "") {
		return false
	}
	vm.L.Push(vm.ngx.RawGetString("var"))
	vm.phase = "access"
	if err := vm.call(c, 1, 1); err != nil {
		vm.log(4, fmt.Sprintf("filter_func: %s", err))
		return false
	}
	ok := glua.LVAsBool(vm.L.Get(-1))
	vm.L.Pop(1)
	return ok
}

// push pushes the function to call: what f evaluates to, or its method.
func (vm *VM) push(c *reqctx.Ctx, f *Func, method string) bool {
	v, err := vm.evaluate(f)
	if err != nil {
		vm.cur = c
		vm.log(4, err.Error())
		vm.cur = nil
		return false
	}
	if method != "" {
		t, ok := v.(*glua.LTable)
		if !ok {
			return false
		}
		v = t.RawGetString(method)
	}
	if _, ok := v.(*glua.LFunction); !ok {
		return false
	}
	vm.L.Push(v)
	return true
}
