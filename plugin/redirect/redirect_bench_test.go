package redirect

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/plugin"
)

func BenchmarkRedirectTemplate(b *testing.B) {
	ch := plugintest.Chain(b, "redirect", `{"uri": "https://$host$uri", "append_query_string": true}`)
	c := plugintest.NewCtx(b, "GET /hello?a=1 HTTP/1.1\r\nHost: foo.com")
	replay := plugintest.Replay(b, c)
	b.ReportAllocs()
	for b.Loop() {
		replay()
		ch.Run(plugin.Rewrite, c, 0, nil)
	}
}
