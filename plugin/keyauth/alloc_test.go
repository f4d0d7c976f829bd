//go:build !race

package keyauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin/internal/authtest"
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
			ch := authtest.Chain(t, r, tc.plugins)
			req := authtest.NewReplayer(t, tc.req, idx)
			if res := req.Rewrite(ch); res != tc.want {
				t.Fatalf("result %v, want %v", res, tc.want)
			}
			if n := testing.AllocsPerRun(100, func() { req.Rewrite(ch) }); n != 0 {
				t.Fatalf("%v allocations per request", n)
			}
		})
	}
}
