//go:build !race

package faultinjection

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// TestAllocatesNothing: an abort (templated body and header) and a delay
// (parked and resumed, its job recycled) allocate nothing once the
// context's and the loop's buffers have grown.
func TestAllocatesNothing(t *testing.T) {
	for name, conf := range map[string]string{
		"abort": `{"abort": {"http_status": 403, "body": "client addr: $remote_addr\n", "headers": {"X-Uri": "$uri", "X-N": 2}}}`,
		"delay": `{"delay": {"duration": 1, "vars": [[["arg_a", "==", "1"]]]}, "abort": {"http_status": 200, "body": "late"}}`,
		"pass":  `{"abort": {"http_status": 403, "percentage": 0}, "delay": {"duration": 1, "percentage": 0}}`,
	} {
		ch := plugintest.Chain(t, "fault-injection", conf)
		c := plugintest.NewCtx(t, "GET /hello?a=1 HTTP/1.1\r\nHost: x\r\n")
		replay := plugintest.Replay(t, c)
		req := func() {
			replay()
			if plugintest.Request(ch, c) == reqctx.Parked {
				c.TakeParked().Resume(c)
			}
		}
		req()
		if n := testing.AllocsPerRun(100, req); n != 0 {
			t.Errorf("%s: %v allocations per request", name, n)
		}
	}
}
