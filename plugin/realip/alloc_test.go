//go:build !race

package realip

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func TestRewriteAllocatesNothing(t *testing.T) {
	ch := plugintest.Chain(t, "real-ip", `{"source": "http_x_forwarded_for", "recursive": true, "trusted_addresses": ["127.0.0.0/8", "10.0.0.0/8"]}`)
	c := plugintest.NewCtx(t, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1, 10.0.0.2, 10.0.0.1:9\r\n")
	replay := plugintest.Replay(t, c)
	plugintest.Request(ch, c) // grow the arena once
	if n := testing.AllocsPerRun(100, func() {
		replay()
		plugintest.Request(ch, c)
	}); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
	// "10.0.0.1:9" is not an address ipmatcher can call trusted.
	if string(c.RemoteText) != "10.0.0.1" || c.RemotePort != 9 {
		t.Fatalf("remote %q", c.RemoteText)
	}
}
