//go:build !race

package keyauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// key-auth is in the benchmark scenario: it must add no allocation to a
// request, whether the key comes in a header or the query, is hidden, is
// wrong, or falls back to the anonymous consumer.
func TestKeyAuthAllocatesNothing(t *testing.T) {
	r, idx := snapshot(t)
	for _, tc := range []struct {
		name, plugins, req string
		want               reqctx.Result
	}{
		{"header", `{"key-auth": {}}`, "GET /hello HTTP/1.1\nHost: a\napikey: auth-one", reqctx.Continue},
		{"hidden header", `{"key-auth": {"hide_credentials": true}}`, "GET /hello HTTP/1.1\nHost: a\napikey: auth-two", reqctx.Continue},
		{"hidden query", `{"key-auth": {"hide_credentials": true}}`, "GET /hello?a=1&apikey=auth-%6Fne HTTP/1.1\nHost: a", reqctx.Continue},
		{"invalid", `{"key-auth": {}}`, "GET /hello HTTP/1.1\nHost: a\napikey: nope", reqctx.Stop},
		{"anonymous", `{"key-auth": {"anonymous_consumer": "anonymous"}}`, "GET /hello HTTP/1.1\nHost: a", reqctx.Continue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.RouteChain(t, r, tc.plugins)
			c := plugintest.NewCtxWith(t, tc.req, idx)
			res, allocs := plugintest.RewriteAllocs(t, ch, c)
			if res != tc.want {
				t.Fatalf("result %v, want %v", res, tc.want)
			}
			if allocs != 0 {
				t.Fatalf("%v allocations per request", allocs)
			}
		})
	}
}
