//go:build !race

package limitconn

import (
	"testing"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// Counting a request in (access) and out (log) allocates nothing for a
// known key once the loop's record free list is warm.
func TestLimitConnLocalAllocatesNothing(t *testing.T) {
	l := instance(t, `{"conn": 100, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`, NewCounters(0))
	r := newRequest(t, "", "127.0.0.1")
	l.Access(&r.c)
	l.Log(&r.c)
	allocs := testing.AllocsPerRun(1000, func() {
		r.c.Reset()
		if l.Access(&r.c) != reqctx.Continue {
			t.Fatal("not admitted")
		}
		l.Log(&r.c)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}
