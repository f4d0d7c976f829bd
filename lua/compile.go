package lua

import (
	"errors"
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Func is Lua source compiled once: a function prototype shared by every
// VM (gopher-lua's "sharing byte code"). Immutable; safe from any
// goroutine.
type Func struct {
	name  string
	proto *glua.FunctionProto
	// returnsFunc: the chunk evaluates to the function to call
	// (serverless functions, filter_func); otherwise the chunk is a module
	// whose value is kept (Lua plugin files).
	returnsFunc bool
}

// Name returns the name the Func was compiled under (for errors and logs).
func (f *Func) Name() string { return f.name }

// ErrNotFunction: code that must evaluate to a function did not.
var ErrNotFunction = errors.New("lua: code does not evaluate to a function")

// Compile compiles a chunk (a Lua plugin module).
func Compile(name, src string) (*Func, error) {
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, fmt.Errorf("failed to loadstring: %w", err)
	}
	proto, err := glua.Compile(chunk, name)
	if err != nil {
		return nil, fmt.Errorf("failed to loadstring: %w", err)
	}
	return &Func{name: name, proto: proto}, nil
}

// CompileFunc compiles code that must evaluate to a function, as APISIX's
// serverless functions do ("return function(conf, ctx) ... end"). It runs
// the chunk once in a scratch VM to check that, with APISIX's error texts:
// "failed to loadstring: ..." for syntax errors, "pcall error: ..." when
// the chunk fails, "only accept Lua function, the input code type is
// <type>" otherwise.
func CompileFunc(name, src string) (*Func, error) {
	f, err := Compile(name, src)
	if err != nil {
		return nil, err
	}
	f.returnsFunc = true
	vm := newScratchVM()
	defer vm.close()
	v, err := vm.evaluate(f)
	if err != nil {
		return nil, fmt.Errorf("pcall error: %w", err)
	}
	if v.Type() != glua.LTFunction {
		return nil, fmt.Errorf("only accept Lua function, the input code type is %s: %w", luaTypeName(v), ErrNotFunction)
	}
	return f, nil
}

// CompileFilter compiles a route's filter_func ("function(vars) ... end",
// APISIX's form: the source is a function expression, not a chunk).
func CompileFilter(src string) (*Func, error) {
	return CompileFunc("filter_func", "return "+src)
}

func luaTypeName(v glua.LValue) string {
	if v == glua.LNil {
		return "nil"
	}
	return v.Type().String()
}
