//go:build !race

package prometheus

import (
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// The log path allocates nothing once the loop has seen the label set:
// the benchmark scenario runs prometheus on every request.
func TestLogAllocatesNothing(t *testing.T) {
	ch := plugintest.Chain(t, Name, `{}`)
	c := newCtx(t, &reqctx.Loop{})
	for _, r := range []request{
		{route: "alloc-r", service: "s", status: 200, upstream: true, node: "127.0.0.1", attempt: 2 * time.Millisecond, in: 80, out: 300},
		{route: "alloc-r", consumer: "jack", status: 401, exit: true},
		{status: 404},
	} {
		prepare(t, &r)
		serveReady(ch, c, &r) // warm: the series exist
		if n := testing.AllocsPerRun(200, func() {
			serveReady(ch, c, &r)
			CountRequest(c)
		}); n != 0 {
			t.Errorf("%+v: %v allocations per request", r, n)
		}
	}
}
