package serverless

import (
	"fmt"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/lua"
	"github.com/sluicegw/sluice/plugin"
)

// schema is APISIX's serverless schema.
const schema = `{
  "type": "object",
  "properties": {
    "phase": {"type": "string", "default": "access", "enum": ["rewrite", "access", "header_filter", "body_filter", "log", "before_proxy"]},
    "functions": {"type": "array", "items": {"type": "string"}, "minItems": 1}
  },
  "required": ["functions"]
}`

func init() {
	for name, priority := range map[string]int{"serverless-pre-function": 10000, "serverless-post-function": -2000} {
		plugin.Register(&plugin.Def{
			Name:     name,
			Priority: priority,
			Version:  "0.1",
			Schema:   schema,
			Check:    check,
			New:      newServerless,
		})
	}
}

// check compiles each function, with APISIX's messages.
func check(conf map[string]any, _ bool) error {
	fns, _ := conf["functions"].([]any)
	for _, f := range fns {
		src, _ := f.(string)
		if _, err := lua.CompileFunc("serverless function", src); err != nil {
			return err
		}
	}
	return nil
}

type conf struct {
	Phase     string   `json:"phase"`
	Functions []string `json:"functions"`
}

// funcs is the compiled functions, shared by the phase types below.
type funcs struct {
	rt   *lua.Runtime
	fns  []*lua.Func
	conf *lua.Conf
}

func newServerless(env *plugin.Env, raw []byte) (any, error) {
	if env.Lua == nil {
		return nil, fmt.Errorf("serverless functions need Lua, which this node does not run")
	}
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	f := &funcs{rt: env.Lua}
	var err error
	if f.conf, err = lua.NewConf(raw); err != nil {
		return nil, err
	}
	for i, src := range c.Functions {
		fn, err := lua.CompileFunc(fmt.Sprintf("%s functions[%d]", env.Owner, i+1), src)
		if err != nil {
			return nil, err
		}
		f.fns = append(f.fns, fn)
	}
	// One type per phase, so the chain runs the functions in their phase
	// only.
	switch c.Phase {
	case "rewrite":
		return rewrite{f}, nil
	case "before_proxy":
		return beforeProxy{f}, nil
	case "header_filter":
		return headerFilter{f}, nil
	case "body_filter":
		return bodyFilter{f}, nil
	case "log":
		return logPhase{f}, nil
	}
	return access{f}, nil
}

// run calls each function in order; the first that ends the request wins.
func (f *funcs) run(c *reqctx.Ctx, phase string) reqctx.Result {
	vm := f.rt.VM(c.Loop)
	for _, fn := range f.fns {
		if res := vm.RunHook(c, phase, fn, "", f.conf); res != reqctx.Continue {
			return res
		}
	}
	return reqctx.Continue
}

type (
	rewrite      struct{ *funcs }
	access       struct{ *funcs }
	beforeProxy  struct{ *funcs }
	headerFilter struct{ *funcs }
	bodyFilter   struct{ *funcs }
	logPhase     struct{ *funcs }
)

func (p rewrite) Rewrite(c *reqctx.Ctx) reqctx.Result         { return p.run(c, "rewrite") }
func (p access) Access(c *reqctx.Ctx) reqctx.Result           { return p.run(c, "access") }
func (p beforeProxy) BeforeProxy(c *reqctx.Ctx) reqctx.Result { return p.run(c, "before_proxy") }

func (p headerFilter) HeaderFilter(c *reqctx.Ctx) {
	vm := p.rt.VM(c.Loop)
	for _, fn := range p.fns {
		vm.RunFilter(c, "header_filter", fn, "", p.conf)
	}
}

// BodyFilter passes the piece through each function (ngx.arg[1] in, out),
// and asks the engine to frame what they return.
func (p bodyFilter) BodyFilter(c *reqctx.Ctx, data []byte, eof bool) []byte {
	vm := p.rt.VM(c.Loop)
	for _, fn := range p.fns {
		data = vm.RunBodyFilter(c, fn, "", p.conf, data, eof)
	}
	return data
}

// HeaderFilter of a body_filter function: Lua may change the body, so the
// engine must not forward the upstream's framing.
func (p bodyFilter) HeaderFilter(c *reqctx.Ctx) { c.BodyRewrite = true }

func (p logPhase) Log(c *reqctx.Ctx) {
	vm := p.rt.VM(c.Loop)
	for _, fn := range p.fns {
		vm.RunFilter(c, "log", fn, "", p.conf)
	}
}

var (
	_ plugin.Rewriter       = rewrite{}
	_ plugin.Accessor       = access{}
	_ plugin.BeforeProxier  = beforeProxy{}
	_ plugin.HeaderFilterer = headerFilter{}
	_ plugin.BodyFilterer   = bodyFilter{}
	_ plugin.HeaderFilterer = bodyFilter{}
	_ plugin.Logger         = logPhase{}
)
