//go:build !race

package iprestriction

import (
	"net/netip"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// TestAccessAllocatesNothing: the check, allowed or refused, allocates
// nothing once the context's buffers have grown.
func TestAccessAllocatesNothing(t *testing.T) {
	ch := plugintest.Chain(t, "ip-restriction", `{"whitelist": ["127.0.0.0/24", "10.0.0.0/8", "2001:db8::/32", "113.74.26.106"]}`)
	c := plugintest.NewCtx(t, "GET /hello HTTP/1.1\r\nHost: x\r\n")
	clients := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("114.114.114.114"), netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("::1")}
	want := []reqctx.Result{reqctx.Continue, reqctx.Stop, reqctx.Continue, reqctx.Stop}
	for i, a := range clients { // grow the arena, and check the answers
		c.Reset()
		c.RemoteAddr = a
		if got := plugintest.Request(ch, c); got != want[i] {
			t.Fatalf("%s: %v, want %v", a, got, want[i])
		}
	}
	if n := testing.AllocsPerRun(200, func() {
		for _, a := range clients {
			c.Reset()
			c.RemoteAddr = a
			plugintest.Request(ch, c)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per 4 requests", n)
	}
}
