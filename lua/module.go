package lua

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"

	glua "github.com/yuin/gopher-lua"
)

// Module is a Lua plugin module the APISIX way: a file (or source from
// etcd) returning a table `_M` with name, priority, version, schema,
// optional check_schema(conf), and phase functions rewrite, access,
// before_proxy, header_filter, body_filter, log, each (conf, ctx).
// Immutable after LoadModule.
type Module struct {
	Name     string
	Priority int
	Version  string
	// Schema is the module's schema as JSON ("{}" when it has none).
	Schema string
	// Phases says which phase functions the module has, by APISIX's
	// phase names.
	Phases map[string]bool
	// Func evaluates to the module table.
	Func     *Func
	hasCheck bool
	// Source is where the module came from (a path, or "etcd:<name>").
	Source string
}

// PhaseNames are the phase functions a module may define, in run order.
var PhaseNames = []string{"rewrite", "access", "before_proxy", "header_filter", "body_filter", "log"}

// LoadModule compiles a plugin module and reads its declaration in a
// scratch VM. name is the plugin name the module must declare.
func LoadModule(name, source, src string) (*Module, error) {
	f, err := Compile(source, src)
	if err != nil {
		return nil, fmt.Errorf("plugin %s (%s): %w", name, source, err)
	}
	vm := newScratchVM()
	defer vm.close()
	v, err := vm.evaluate(f)
	if err != nil {
		return nil, fmt.Errorf("plugin %s (%s): %w", name, source, err)
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("plugin %s (%s): the module returned %s, not a table", name, source, luaTypeName(v))
	}
	m := &Module{Name: name, Func: f, Source: source, Phases: map[string]bool{}, Schema: "{}"}
	if n := glua.LVAsString(t.RawGetString("name")); n != name {
		return nil, fmt.Errorf("plugin %s (%s): the module's name is %q", name, source, n)
	}
	prio, ok := t.RawGetString("priority").(glua.LNumber)
	if !ok {
		return nil, fmt.Errorf("plugin %s (%s): the module has no numeric priority", name, source)
	}
	m.Priority = int(prio)
	m.Version = glua.LVAsString(t.RawGetString("version"))
	if s, ok := t.RawGetString("schema").(*glua.LTable); ok {
		g, err := ToGo(s)
		if err != nil {
			return nil, fmt.Errorf("plugin %s (%s): schema: %w", name, source, err)
		}
		if _, isObj := g.(map[string]any); !isObj {
			g = map[string]any{"type": "object"}
		}
		b, _ := json.Marshal(g)
		m.Schema = string(b)
	}
	for _, p := range PhaseNames {
		if _, ok := t.RawGetString(p).(*glua.LFunction); ok {
			m.Phases[p] = true
		}
	}
	_, m.hasCheck = t.RawGetString("check_schema").(*glua.LFunction)
	return m, nil
}

// checkers are scratch VMs for check_schema calls, which come from any
// goroutine (the Admin API, a source decoding a listing in parallel).
var checkers = stdsync.Pool{New: func() any { return newScratchVM() }}

// Check runs the module's check_schema(conf), if it has one: APISIX's
// (ok, err) result as an error.
func (m *Module) Check(conf map[string]any) error {
	if !m.hasCheck {
		return nil
	}
	vm := checkers.Get().(*VM)
	defer checkers.Put(vm)
	v, err := vm.evaluate(m.Func)
	if err != nil {
		return err
	}
	t := v.(*glua.LTable)
	L := vm.L
	L.Push(t.RawGetString("check_schema"))
	L.Push(FromGo(L, conf))
	vm.budget.start(vm.rt.opts.Budget)
	err = L.PCall(1, 2, nil)
	vm.budget.stop()
	if err != nil {
		L.SetTop(0)
		return fmt.Errorf("check_schema: %w", err)
	}
	ok, msg := L.Get(-2), L.Get(-1)
	L.Pop(2)
	if !glua.LVAsBool(ok) {
		return fmt.Errorf("%s", glua.LVAsString(msg))
	}
	return nil
}

// FindModule looks name ("apisix.plugins.foo") up on a Lua search path
// (extra_lua_path: templates like "/opt/ext/?.lua" separated by ';'),
// returning the file's path and contents.
func FindModule(path, name string) (string, []byte, bool) {
	if strings.ContainsAny(name, "/\\") {
		return "", nil, false // module names are dotted, never paths
	}
	rel := strings.ReplaceAll(name, ".", "/")
	for _, tmpl := range strings.Split(path, ";") {
		tmpl = strings.TrimSpace(tmpl)
		if tmpl == "" || !strings.Contains(tmpl, "?") {
			continue
		}
		p := filepath.Clean(strings.ReplaceAll(tmpl, "?", rel))
		if b, err := os.ReadFile(p); err == nil {
			return p, b, true
		}
	}
	return "", nil, false
}
