package basicauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

// BenchmarkBasicAuth replays one request through basic-auth's rewrite
// (re-parsing the head each iteration).
func BenchmarkBasicAuth(b *testing.B) {
	r, idx := snapshot(b)
	ch := plugintest.RouteChain(b, r, `{"basic-auth": {}}`)
	c := plugintest.NewCtxWith(b, "GET /hello HTTP/1.1\nHost: a\nUser-Agent: wrk\nAuthorization: Basic Zm9vOmJhcg==", idx)
	replay := plugintest.Replay(b, c)
	b.ReportAllocs()
	for b.Loop() {
		replay()
		plugintest.Rewrite(ch, c)
	}
}
