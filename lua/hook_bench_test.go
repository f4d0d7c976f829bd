package lua

import (
	"testing"
	"time"
)

// trivialHook is the benchmark hook: read a header, set one.
const trivialHook = `
local core = require("apisix.core")
return function(conf, ctx)
	local v = core.request.header(ctx, "X-A")
	core.request.set_header(ctx, "X-B", v)
end`

// BenchmarkHook is one Lua access hook call on a loop's VM, budget on.
func BenchmarkHook(b *testing.B) { benchmarkHook(b, trivialHook) }

// BenchmarkHookViaNgxVar reads the header through ngx.var instead.
func BenchmarkHookViaNgxVar(b *testing.B) {
	benchmarkHook(b, `return function(conf, ctx) ngx.req.set_header("X-B", ngx.var.http_x_a) end`)
}

// benchmarkHook calls the hook src evaluates to once per request.
func benchmarkHook(b *testing.B, src string) {
	_, vm, l := runtime(b, time.Second)
	f := mustFunc(b, src)
	c := request(b, l, getHead)
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		c.Head = append(c.Head[:0], getHead...)
		vm.RunHook(c, "access", f, "", nil)
	}
}
