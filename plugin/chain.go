package plugin

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/jsonschema"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/lua"
)

// Entry is one plugin conf compiled into a chain. Immutable.
type Entry struct {
	// Name is the plugin's name.
	Name     string
	priority int
	def      *compiledDef
	inst     any
	meta     meta
	// fromConsumer marks an entry a consumer merge added (it runs its
	// rewrite hook after authentication, APISIX's rewrite_in_consumer).
	fromConsumer bool
	// pre is _meta.pre_function: Lua run before each of the plugin's hooks.
	pre     *lua.Func
	preConf *lua.Conf
	lua     *lua.Runtime

	rewrite, access, beforeProxy func(*reqctx.Ctx) reqctx.Result
	headerFilter                 func(*reqctx.Ctx)
	bodyFilter                   func(*reqctx.Ctx, []byte, bool) []byte
	log                          func(*reqctx.Ctx)
}

// Instance returns the compiled plugin instance (tests, the control API).
func (e *Entry) Instance() any { return e.inst }

// Chain is the compiled plugins of one object (a route with its service
// and plugin config merged in, the global rules, a consumer), in run order.
// Immutable and shared by every loop; the zero Chain and a nil *Chain run
// nothing.
type Chain struct {
	entries []*Entry
	phases  [NumPhases][]*Entry
	// preferRoute is set when an entry yields to the route's own conf of
	// the same plugin (global rules only).
	preferRoute bool
}

// Len returns the number of plugins in the chain.
func (ch *Chain) Len() int {
	if ch == nil {
		return 0
	}
	return len(ch.entries)
}

// Has reports whether any hook runs in phase p.
func (ch *Chain) Has(p Phase) bool { return ch != nil && len(ch.phases[p]) > 0 }

// Names lists the chain's plugins in run order.
func (ch *Chain) Names() []string {
	if ch == nil {
		return nil
	}
	out := make([]string, len(ch.entries))
	for i, e := range ch.entries {
		out[i] = e.Name
	}
	return out
}

// has reports whether the chain runs the named plugin.
func (ch *Chain) has(name string) bool {
	if ch == nil {
		return false
	}
	for _, e := range ch.entries {
		if e.Name == name {
			return true
		}
	}
	return false
}

// Compile compiles one object's plugins (the caller has merged route,
// plugin config and service by APISIX's precedence) into a chain. A plugin
// sluice has but config.yaml does not enable is left out, as APISIX's
// runtime ignores unloaded plugins; one sluice does not have at all fails
// the whole chain with an error matching config.ErrUnknownPlugin (the
// route then answers 503 rather than run without it).
func (r *Registry) Compile(env *Env, confs map[string]json.RawMessage) (*Chain, error) {
	if len(confs) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(confs))
	for n := range confs {
		names = append(names, n)
	}
	slices.Sort(names)
	entries := make([]*Entry, 0, len(confs))
	for _, name := range names {
		cd := r.def(name)
		if cd == nil {
			if known(name) {
				continue
			}
			return nil, config.UnknownPlugin(name)
		}
		e, err := r.compileEntry(env, cd, confs[name], false)
		if err != nil {
			return nil, err
		}
		if e != nil {
			entries = append(entries, e)
		}
	}
	return newChain(entries), nil
}

func known(name string) bool {
	catalog.mu.Lock()
	defer catalog.mu.Unlock()
	_, ok := catalog.defs[name]
	return ok
}

// compileEntry compiles one conf: _meta, then the conf with its schema's
// defaults, then the plugin's New. A disabled conf yields nil.
func (r *Registry) compileEntry(env *Env, cd *compiledDef, raw json.RawMessage, consumer bool) (*Entry, error) {
	m, rest, err := parseMeta(raw)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", cd.Name, err)
	}
	if m.disable {
		return nil, nil
	}
	conf, err := withDefaults(cd.schema, rest)
	if err != nil {
		return nil, fmt.Errorf("failed to check the configuration of plugin %s err: %w", cd.Name, err)
	}
	if env.Lua == nil {
		env.Lua = r.lua
	}
	inst, err := cd.New(env, conf)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", cd.Name, err)
	}
	e := &Entry{Name: cd.Name, priority: cd.Priority, def: cd, inst: inst, meta: m}
	if m.priority != nil {
		e.priority = *m.priority
	}
	if m.preFunction != "" {
		if r.lua == nil {
			return nil, fmt.Errorf("plugin %s: _meta.pre_function needs Lua, which this node does not run", cd.Name)
		}
		if e.pre, err = lua.CompileFunc(cd.Name+" _meta.pre_function", m.preFunction); err != nil {
			return nil, fmt.Errorf("failed to load _meta.pre_function in plugin %s: %w", cd.Name, err)
		}
		if e.preConf, err = lua.NewConf(conf); err != nil {
			return nil, err
		}
		e.lua = r.lua
	}
	has := [NumPhases]bool{true, true, true, true, true, true}
	if li, ok := inst.(*luaInstance); ok {
		has = li.phases()
	}
	if h, ok := inst.(Rewriter); ok && has[Rewrite] {
		e.rewrite = h.Rewrite
	}
	if h, ok := inst.(Accessor); ok && has[Access] {
		e.access = h.Access
	}
	if h, ok := inst.(BeforeProxier); ok && has[BeforeProxy] {
		e.beforeProxy = h.BeforeProxy
	}
	if h, ok := inst.(HeaderFilterer); ok && has[HeaderFilter] {
		e.headerFilter = h.HeaderFilter
	}
	if h, ok := inst.(BodyFilterer); ok && has[BodyFilter] {
		e.bodyFilter = h.BodyFilter
	}
	if h, ok := inst.(Logger); ok && has[Log] {
		e.log = h.Log
	}
	return e, nil
}

// withDefaults validates a conf against its schema (filling in defaults)
// and returns it as JSON for the plugin's New.
func withDefaults(sch *jsonschema.Schema, raw json.RawMessage) ([]byte, error) {
	if sch == nil {
		return raw, nil
	}
	v, err := jsonschema.DecodeJSON(raw)
	if err != nil {
		return nil, err
	}
	if err := sch.Validate(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// newChain orders entries (descending priority, then name) and indexes
// them by phase.
func newChain(entries []*Entry) *Chain {
	if len(entries) == 0 {
		return nil
	}
	slices.SortStableFunc(entries, func(a, b *Entry) int {
		if a.priority != b.priority {
			return b.priority - a.priority
		}
		return strings.Compare(a.Name, b.Name)
	})
	ch := &Chain{entries: entries}
	for _, e := range entries {
		if e.rewrite != nil {
			ch.phases[Rewrite] = append(ch.phases[Rewrite], e)
		}
		if e.access != nil {
			ch.phases[Access] = append(ch.phases[Access], e)
		}
		if e.beforeProxy != nil {
			ch.phases[BeforeProxy] = append(ch.phases[BeforeProxy], e)
		}
		if e.headerFilter != nil {
			ch.phases[HeaderFilter] = append(ch.phases[HeaderFilter], e)
		}
		if e.bodyFilter != nil {
			ch.phases[BodyFilter] = append(ch.phases[BodyFilter], e)
		}
		if e.log != nil {
			ch.phases[Log] = append(ch.phases[Log], e)
		}
		if e.def.PreferRoute {
			ch.preferRoute = true
		}
	}
	return ch
}

// skip reports whether e does not run for this request: its _meta.filter
// rejects it, or (global rules) the route has the same plugin and e
// prefers the route's.
func (ch *Chain) skip(e *Entry, c *reqctx.Ctx, route *Chain) bool {
	if e.meta.filter != nil && !e.meta.filter.Eval(c) {
		return true
	}
	return ch.preferRoute && e.def.PreferRoute && route.has(e.Name)
}

// Run runs the rewrite, access or before_proxy hooks of phase p, starting
// at hook index from (0, or one past the hook a parked request resumes
// after). It returns the first result other than Continue with the index of
// the hook that gave it, or Continue with the number of hooks. route is the
// request's route chain when ch is the global rules' (prefer_route), else
// nil. When a hook ends the request with an error status, its
// _meta.error_response replaces the body.
func (ch *Chain) Run(p Phase, c *reqctx.Ctx, from int, route *Chain) (reqctx.Result, int) {
	if ch == nil {
		return reqctx.Continue, 0
	}
	hooks := ch.phases[p]
	for i := from; i < len(hooks); i++ {
		e := hooks[i]
		if ch.skip(e, c, route) {
			continue
		}
		e.runPre(c, p)
		var res reqctx.Result
		switch p {
		case Rewrite:
			res = e.rewrite(c)
		case Access:
			res = e.access(c)
		case BeforeProxy:
			res = e.beforeProxy(c)
		}
		if res != reqctx.Continue {
			if res == reqctx.Stop {
				e.Stopped(c)
			}
			return res, i
		}
	}
	return reqctx.Continue, len(hooks)
}

// Stopped applies what a hook's exit implies beyond the hook itself: the
// _meta.error_response of an error exit. The engine calls it for a hook
// that ended the request after a park.
func (e *Entry) Stopped(c *reqctx.Ctx) {
	if c.Status >= 400 && e.meta.errorResponse != nil {
		c.ReplaceExitBody(e.meta.errorResponse)
	}
}

// runPre runs _meta.pre_function before one of e's hooks; like APISIX's,
// its failures are logged and do not stop the plugin.
func (e *Entry) runPre(c *reqctx.Ctx, p Phase) {
	if e.pre != nil {
		e.lua.VM(c.Loop).RunFilter(c, p.String(), e.pre, "", e.preConf)
	}
}

// Hook returns the hook at index i of phase p (the engine resumes a parked
// request with it).
func (ch *Chain) Hook(p Phase, i int) *Entry {
	if ch == nil || i >= len(ch.phases[p]) {
		return nil
	}
	return ch.phases[p][i]
}

// RunConsumerRewrite runs, from hook index from, the rewrite hooks of the
// plugins a consumer merge added (APISIX's rewrite_in_consumer; auth
// plugins already ran). Results as Run's.
func (ch *Chain) RunConsumerRewrite(c *reqctx.Ctx, from int) (reqctx.Result, int) {
	if ch == nil {
		return reqctx.Continue, 0
	}
	hooks := ch.phases[Rewrite]
	for i := from; i < len(hooks); i++ {
		e := hooks[i]
		if !e.fromConsumer || e.def.Auth || ch.skip(e, c, nil) {
			continue
		}
		e.runPre(c, Rewrite)
		if res := e.rewrite(c); res != reqctx.Continue {
			if res == reqctx.Stop {
				e.Stopped(c)
			}
			return res, i
		}
	}
	return reqctx.Continue, len(hooks)
}

// HeaderFilter runs the header_filter hooks.
func (ch *Chain) HeaderFilter(c *reqctx.Ctx, route *Chain) {
	if ch == nil {
		return
	}
	for _, e := range ch.phases[HeaderFilter] {
		if !ch.skip(e, c, route) {
			e.runPre(c, HeaderFilter)
			e.headerFilter(c)
		}
	}
}

// BodyFilter passes one piece of the response body through the body_filter
// hooks in order, each one's output the next one's input, and returns the
// last output.
func (ch *Chain) BodyFilter(c *reqctx.Ctx, data []byte, eof bool, route *Chain) []byte {
	if ch == nil {
		return data
	}
	for _, e := range ch.phases[BodyFilter] {
		if !ch.skip(e, c, route) {
			e.runPre(c, BodyFilter)
			out := e.bodyFilter(c, data, eof)
			if c.BodyRewrite {
				data = out
			}
		}
	}
	return data
}

// Log runs the log hooks.
func (ch *Chain) Log(c *reqctx.Ctx, route *Chain) {
	if ch == nil {
		return
	}
	for _, e := range ch.phases[Log] {
		if !ch.skip(e, c, route) {
			e.runPre(c, Log)
			e.log(c)
		}
	}
}
