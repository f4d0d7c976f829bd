// Package lua owns sluice's Lua: gopher-lua VMs, one per event loop, in a
// sandbox; source compiled once into shared function prototypes; a time
// budget per call; and the API Lua code sees, close enough to OpenResty's
// ngx.* and APISIX's apisix.core that common snippets run unchanged.
//
// It refuses to own where Lua comes from or when it runs: serverless
// functions and Lua plugin files are plugins (package plugin builds them on
// Func and Module), filter_func is wired into the router by cmd/sluice, and
// the engine decides phases. It imports only the request context.
//
// # Lifecycle
//
// Compile (or CompileFunc for code that must evaluate to a function)
// parses and compiles source once into a Func, immutable and shared by
// every loop. A Runtime holds the options and the watchdog; each event loop
// gets its own VM from it (Runtime.VM, stored in the loop's reqctx.Loop),
// which instantiates a Func the first time it runs it there and keeps the
// instance (so closures keep state per loop per config version, as APISIX's
// do per worker). A reload publishes new Funcs; requests in flight finish
// on the ones they started with, and the VMs' caches forget old ones.
//
// # Sandbox
//
// A VM opens only base, table, string and math, plus os.time/os.clock/
// os.date; no io, os.execute, package, debug, load/loadstring/dofile, or
// require of anything but the modules sluice provides (apisix.core, cjson,
// cjson.safe, ngx.re, and Lua plugins on the configured path). string.rep
// and friends are bounded. Each Func runs with its own environment, so
// globals do not leak between plugins.
//
// # Time budget
//
// Every call runs with a budget (Options.Budget): a watchdog goroutine
// cancels a call that runs past it, the VM raises an error in the Lua code,
// and the request gets 500; the VM stays usable. gopher-lua checks for
// cancellation between instructions, so a loop is stopped within about a
// watchdog tick of its budget. Go builtins called from Lua are short and
// bounded.
//
// # Concurrency
//
// A VM belongs to one event loop and is used only by it: no locks on the
// request path. Funcs and the Runtime are safe from any goroutine.
package lua
