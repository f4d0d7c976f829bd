//go:build !race

package lua

import (
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// A trivial hook (read a header, set one) allocates nothing once warm: the
// VM, its tables and its interned strings are reused call after call.
func TestHookAllocatesNothing(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	f := mustFunc(t, trivialHook)
	c := request(t, l, getHead)
	run := func() {
		c.Reset()
		c.Head = append(c.Head[:0], getHead...)
		if res := vm.RunHook(c, "access", f, "", nil); res != reqctx.Continue {
			t.Fatal(res)
		}
	}
	for range 10 {
		run()
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("%v allocations per hook call", n)
	}
}
