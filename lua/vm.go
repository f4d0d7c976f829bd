package lua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	stdsync "sync"
	"sync/atomic"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/sluicegw/sluice/internal/jsonschema"
	"github.com/sluicegw/sluice/internal/ngxre"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// Defaults for Options.
const (
	DefaultBudget = 100 * time.Millisecond // per call: past it, the call is stopped
	// maxCachedFuncs bounds a VM's instantiated functions; past it the
	// cache starts over (config churn leaves old ones behind).
	maxCachedFuncs = 4096
)

// Options configure a Runtime.
type Options struct {
	// Budget is the longest one Lua call may run (a hook, a filter_func).
	// Zero means DefaultBudget.
	Budget time.Duration
	// Logger receives ngx.log / core.log output and errors; nil discards.
	Logger *slog.Logger
	// Modules resolves require() of Lua plugin modules (apisix.plugins.x
	// from extra_lua_path or etcd); nil allows only sluice's own modules.
	Modules func(name string) (*Func, bool)
}

// Runtime is the process-wide Lua runtime: its options, the watchdog that
// enforces budgets, and each loop's VM. Safe from any goroutine.
type Runtime struct {
	opts Options
	lg   *slog.Logger
	key  *reqctx.LocalKey

	mu      stdsync.Mutex // guards vms; taken when a loop's VM is made and by the watchdog's scan
	vms     []*VM
	stop    chan struct{}
	stopped stdsync.WaitGroup
}

// NewRuntime starts a runtime (and its watchdog; Close stops it).
func NewRuntime(opts Options) *Runtime {
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rt := &Runtime{opts: opts, lg: opts.Logger, stop: make(chan struct{})}
	rt.key = reqctx.NewLocalKey(func() any { return rt.newVM() })
	rt.stopped.Go(rt.watchdog)
	return rt
}

// Close stops the watchdog and closes the VMs. Loops must not run Lua
// afterwards.
func (rt *Runtime) Close() {
	close(rt.stop)
	rt.stopped.Wait()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, vm := range rt.vms {
		vm.close()
	}
	rt.vms = nil
}

// VM returns the loop's VM, making it on first use. Loop-only.
func (rt *Runtime) VM(l *reqctx.Loop) *VM { return l.Local(rt.key).(*VM) }

func (rt *Runtime) newVM() *VM {
	vm := newVM(rt)
	rt.mu.Lock()
	rt.vms = append(rt.vms, vm)
	rt.mu.Unlock()
	return vm
}

// watchdog cancels calls that overran their budget. It ticks at a quarter
// of the budget (at least every millisecond), so a runaway call is stopped
// within 1.25 budgets.
func (rt *Runtime) watchdog() {
	tick := max(rt.opts.Budget/4, time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-rt.stop:
			return
		case now := <-t.C:
			rt.mu.Lock()
			for _, vm := range rt.vms {
				vm.budget.expire(now.UnixNano())
			}
			rt.mu.Unlock()
		}
	}
}

// errBudget is the error a call that ran out of time gets.
var errBudget = errors.New("lua: time budget exceeded")

// budget is a VM's context.Context for gopher-lua: its Done channel closes
// when the running call passes its deadline. It is reused call after call;
// a fresh channel is made only after one fired.
type budget struct {
	deadline atomic.Int64  // unix ns; 0 while no call runs
	mu       stdsync.Mutex // guards done and fired against the watchdog; never held across Lua
	done     chan struct{}
	fired    bool
}

var _ context.Context = (*budget)(nil)

func (b *budget) Deadline() (time.Time, bool) { return time.Time{}, false }
func (b *budget) Done() <-chan struct{}       { return b.done }
func (b *budget) Value(any) any               { return nil }
func (b *budget) Err() error {
	select {
	case <-b.done:
		return errBudget
	default:
		return nil
	}
}

// expire closes done if the running call is past its deadline (watchdog).
func (b *budget) expire(now int64) {
	d := b.deadline.Load()
	if d == 0 || now < d {
		return
	}
	b.mu.Lock()
	if !b.fired && b.deadline.Load() != 0 {
		b.fired = true
		close(b.done)
	}
	b.mu.Unlock()
}

func (b *budget) start(limit time.Duration) { b.deadline.Store(time.Now().Add(limit).UnixNano()) }

// stop ends a call's budget; it reports whether the budget fired.
func (b *budget) stop() bool {
	b.deadline.Store(0)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fired {
		return false
	}
	b.fired = false
	b.done = make(chan struct{})
	return true
}

// VM is one event loop's Lua state. Loop-only.
type VM struct {
	rt     *Runtime
	L      *glua.LState
	budget budget

	funcs map[*glua.FunctionProto]glua.LValue // what each Func evaluated to here
	envs  *glua.LTable                        // the sandbox's globals, the __index of every Func's environment

	cur    *reqctx.Ctx // the request of the running call
	phase  string      // its phase (ngx.get_phase)
	out    []byte      // ngx.say / ngx.print output of the running call
	wrote  bool        // the running call printed something
	exit   int         // ngx.exit's status in the running call, 0 if none
	exitOK bool        // core.response.exit gave a body (out holds it)
	intern map[string]glua.LValue

	ngx, core *glua.LTable
	ctxArg    *glua.LTable // the ctx argument of hooks
	arg       *glua.LTable // ngx.arg (body_filter's chunk and eof)
	modules   map[string]glua.LValue
	schemas   map[*glua.LTable]*jsonschema.Schema // core.schema.check's compiled schemas
	res       map[reKey]*ngxre.Regexp             // ngx.re's compiled patterns
	confs     map[*Conf]*glua.LTable              // plugin confs as Lua tables
	bodyOut   []byte                              // body_filter's output
}

func newVM(rt *Runtime) *VM {
	vm := &VM{rt: rt, funcs: map[*glua.FunctionProto]glua.LValue{}, intern: map[string]glua.LValue{}}
	vm.budget.done = make(chan struct{})
	vm.L = glua.NewState(glua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       128,
		RegistrySize:        1024,
		RegistryMaxSize:     64 << 10,
		IncludeGoStackTrace: false,
	})
	vm.envs = vm.sandbox()
	vm.L.SetContext(&vm.budget)
	vm.schemas = map[*glua.LTable]*jsonschema.Schema{}
	vm.confs = map[*Conf]*glua.LTable{}
	vm.installAPI()
	return vm
}

// newScratchVM is a VM outside any runtime, for checking code at compile
// time (no watchdog: the check runs the chunk's top level only, which for
// a serverless function defines it).
func newScratchVM() *VM {
	rt := &Runtime{opts: Options{Budget: DefaultBudget}, lg: slog.New(slog.DiscardHandler)}
	return newVM(rt)
}

func (vm *VM) close() { vm.L.Close() }

// evaluate runs f's chunk in its own environment and returns its value,
// cached per VM: the function a serverless Func defines, the table a
// module returns.
func (vm *VM) evaluate(f *Func) (glua.LValue, error) {
	if v, ok := vm.funcs[f.proto]; ok {
		return v, nil
	}
	if len(vm.funcs) >= maxCachedFuncs {
		clear(vm.funcs)
	}
	L := vm.L
	fn := L.NewFunctionFromProto(f.proto)
	env := L.NewTable()
	meta := L.NewTable()
	meta.RawSetString("__index", vm.envs)
	L.SetMetatable(env, meta)
	fn.Env = env
	L.Push(fn)
	vm.budget.start(vm.rt.opts.Budget)
	err := L.PCall(0, 1, nil)
	fired := vm.budget.stop()
	if err != nil {
		if fired {
			return nil, fmt.Errorf("%s: %w", f.name, errBudget)
		}
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	v := L.Get(-1)
	L.Pop(1)
	vm.funcs[f.proto] = v
	return v, nil
}

// begin and end bracket a call made for request c.
func (vm *VM) begin(c *reqctx.Ctx) {
	vm.cur = c
	vm.out = vm.out[:0]
	vm.wrote, vm.exit, vm.exitOK = false, 0, false
	vm.budget.start(vm.rt.opts.Budget)
}

func (vm *VM) end() (fired bool) {
	fired = vm.budget.stop()
	vm.cur = nil
	return fired
}

// call calls fn with args (already pushed: nargs of them) for request c,
// returning nret results on the stack. A runaway call (over budget) or a Lua
// error returns an error; ngx.exit is not an error.
func (vm *VM) call(c *reqctx.Ctx, nargs, nret int) error {
	vm.begin(c)
	err := vm.L.PCall(nargs, nret, nil)
	fired := vm.end()
	if err == nil {
		return nil
	}
	vm.L.SetTop(0)
	switch {
	case fired:
		return errBudget
	case isExit(err):
		for range nret {
			vm.L.Push(glua.LNil)
		}
		return nil
	}
	return err
}
