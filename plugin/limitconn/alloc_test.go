//go:build !race

package limitconn

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// Counting a request in (access) and out (log) allocates nothing for a
// known key once the loop's record free list is warm.
func TestLimitConnLocalAllocatesNothing(t *testing.T) {
	l := instance(t, `{"conn": 100, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`, NewCounters(0))
	c := plugintest.NewCtx(t, hello)
	l.Access(c)
	l.Log(c)
	allocs := testing.AllocsPerRun(1000, func() {
		c.Reset()
		if l.Access(c) != reqctx.Continue {
			t.Fatal("not admitted")
		}
		l.Log(c)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}
