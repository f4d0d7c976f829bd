package plugin

import (
	"fmt"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/lua"
)

// LuaDef is the Def of a Lua plugin module (a file on extra_lua_path, or
// source written to etcd under lua_plugins): checked with its own schema
// and check_schema, ordered with the built-ins by its priority, its phase
// functions run on the loop's Lua VM.
func LuaDef(m *lua.Module) *Def {
	return &Def{
		Name:     m.Name,
		Priority: m.Priority,
		Version:  m.Version,
		Schema:   m.Schema,
		Check: func(conf map[string]any, _ bool) error {
			return m.Check(conf)
		},
		New: func(env *Env, conf []byte) (any, error) {
			if env.Lua == nil {
				return nil, fmt.Errorf("plugin %s is Lua, which this node does not run", m.Name)
			}
			c, err := lua.NewConf(conf)
			if err != nil {
				return nil, err
			}
			return &luaInstance{m: m, rt: env.Lua, conf: c}, nil
		},
		lua: m,
	}
}

// luaInstance is one conf of a Lua plugin.
type luaInstance struct {
	m    *lua.Module
	rt   *lua.Runtime
	conf *lua.Conf
}

func (p *luaInstance) Rewrite(c *reqctx.Ctx) reqctx.Result {
	return p.rt.VM(c.Loop).RunHook(c, "rewrite", p.m.Func, "rewrite", p.conf)
}

func (p *luaInstance) Access(c *reqctx.Ctx) reqctx.Result {
	return p.rt.VM(c.Loop).RunHook(c, "access", p.m.Func, "access", p.conf)
}

func (p *luaInstance) BeforeProxy(c *reqctx.Ctx) reqctx.Result {
	return p.rt.VM(c.Loop).RunHook(c, "before_proxy", p.m.Func, "before_proxy", p.conf)
}

func (p *luaInstance) HeaderFilter(c *reqctx.Ctx) {
	if p.m.Phases["body_filter"] {
		c.BodyRewrite = true // Lua may change the body: the engine frames it
	}
	if p.m.Phases["header_filter"] {
		p.rt.VM(c.Loop).RunFilter(c, "header_filter", p.m.Func, "header_filter", p.conf)
	}
}

func (p *luaInstance) BodyFilter(c *reqctx.Ctx, data []byte, eof bool) []byte {
	return p.rt.VM(c.Loop).RunBodyFilter(c, p.m.Func, "body_filter", p.conf, data, eof)
}

func (p *luaInstance) Log(c *reqctx.Ctx) {
	p.rt.VM(c.Loop).RunFilter(c, "log", p.m.Func, "log", p.conf)
}

// phases reports which hooks the chain should index for a Lua instance:
// only the module's own phase functions (header_filter also when it has a
// body filter, to ask for re-framing).
func (p *luaInstance) phases() [NumPhases]bool {
	ph := p.m.Phases
	return [NumPhases]bool{
		Rewrite:      ph["rewrite"],
		Access:       ph["access"],
		BeforeProxy:  ph["before_proxy"],
		HeaderFilter: ph["header_filter"] || ph["body_filter"],
		BodyFilter:   ph["body_filter"],
		Log:          ph["log"],
	}
}

var (
	_ Rewriter       = (*luaInstance)(nil)
	_ Accessor       = (*luaInstance)(nil)
	_ BeforeProxier  = (*luaInstance)(nil)
	_ HeaderFilterer = (*luaInstance)(nil)
	_ BodyFilterer   = (*luaInstance)(nil)
	_ Logger         = (*luaInstance)(nil)
)
