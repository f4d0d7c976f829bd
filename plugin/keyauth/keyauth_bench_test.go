package keyauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// BenchmarkKeyAuth replays one request through key-auth's rewrite; each
// iteration includes re-parsing the request head (~300 ns of the total).
func BenchmarkKeyAuth(b *testing.B) {
	r, idx := snapshot(b)
	for _, bc := range []struct{ name, plugins, req string }{
		{"header", `{"key-auth": {}}`, "GET /hello HTTP/1.1\nHost: a\nUser-Agent: wrk\nAccept: */*\napikey: auth-one"},
		{"query-hidden", `{"key-auth": {"hide_credentials": true}}`, "GET /hello?a=1&apikey=auth-one HTTP/1.1\nHost: a\nUser-Agent: wrk"},
		{"invalid", `{"key-auth": {}}`, "GET /hello HTTP/1.1\nHost: a\nUser-Agent: wrk\napikey: nope"},
		{"none", `{}`, "GET /hello HTTP/1.1\nHost: a\nUser-Agent: wrk\napikey: auth-one"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ch := plugintest.RouteChain(b, r, bc.plugins)
			c := plugintest.NewCtxWith(b, bc.req, idx)
			replay := plugintest.Replay(b, c)
			b.ReportAllocs()
			for b.Loop() {
				replay()
				if plugintest.Rewrite(ch, c) == reqctx.Parked {
					b.Fatal("parked")
				}
			}
		})
	}
}
