package basicauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/plugin/internal/authtest"
)

// BenchmarkBasicAuth replays one request through basic-auth's rewrite
// (re-parsing the head each iteration).
func BenchmarkBasicAuth(b *testing.B) {
	r, idx := snapshot(b)
	ch := authtest.Chain(b, r, `{"basic-auth": {}}`)
	req := authtest.NewReplayer(b, "GET /hello HTTP/1.1\nHost: a\nUser-Agent: wrk\nAuthorization: Basic Zm9vOmJhcg==", idx)
	b.ReportAllocs()
	for b.Loop() {
		req.Rewrite(ch)
	}
}
