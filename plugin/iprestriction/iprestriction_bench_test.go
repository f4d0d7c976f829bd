package iprestriction

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func BenchmarkAccess(b *testing.B) {
	for _, n := range []int{2, 100, 5000} {
		list := make([]string, n)
		for i := range list {
			list[i] = fmt.Sprintf("%q", fmt.Sprintf("10.%d.%d.0/25", i/256, i%256))
		}
		ch := plugintest.Chain(b, "ip-restriction", `{"blacklist": [`+strings.Join(list, ",")+`]}`)
		c := plugintest.NewCtx(b, "GET /hello HTTP/1.1\r\nHost: x\r\n")
		for _, client := range []string{"10.0.1.200", "10.0.1.5"} { // allowed, refused
			a := netip.MustParseAddr(client)
			b.Run(fmt.Sprintf("%d/%s", n, client), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.Reset()
					c.RemoteAddr = a
					plugintest.Request(ch, c)
				}
			})
		}
	}
}
