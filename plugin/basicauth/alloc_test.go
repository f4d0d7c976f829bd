//go:build !race

package basicauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

func TestBasicAuthAllocatesNothing(t *testing.T) {
	r, idx := snapshot(t)
	for _, tc := range []struct {
		name, conf, auth string
		want             reqctx.Result
	}{
		{"match", `{"hide_credentials": true}`, "Basic Zm9vOmJhcg==", reqctx.Continue},
		{"wrong password", `{}`, "Basic Zm9vOmZvbwo=", reqctx.Stop},
		{"bad header", `{}`, "Basic aca_a", reqctx.Stop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.RouteChain(t, r, `{"basic-auth": `+tc.conf+`}`)
			c := plugintest.NewCtxWith(t, "GET /hello HTTP/1.1\nHost: a\nAuthorization: "+tc.auth, idx)
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
