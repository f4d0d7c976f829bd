package cors

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/plugin"
)

func BenchmarkCorsHeaderFilter(b *testing.B) {
	ch := plugintest.Chain(b, "cors", `{"allow_origins": "http://a.com,http://b.com", "allow_methods": "GET,POST", "expose_headers": "x"}`)
	c := plugintest.NewCtx(b, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://b.com")
	replay := plugintest.Replay(b, c)
	b.ReportAllocs()
	for b.Loop() {
		replay()
		ch.Run(plugin.Rewrite, c, 0, nil)
		c.Status = 200
		ch.HeaderFilter(c, nil)
	}
}
