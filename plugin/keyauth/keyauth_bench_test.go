package keyauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin/internal/authtest"
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
			ch := authtest.Chain(b, r, bc.plugins)
			req := authtest.NewReplayer(b, bc.req, idx)
			b.ReportAllocs()
			for b.Loop() {
				if req.Rewrite(ch) == reqctx.Parked {
					b.Fatal("parked")
				}
			}
		})
	}
}
