//go:build !race

package basicauth_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin/internal/authtest"
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
			ch := authtest.Chain(t, r, `{"basic-auth": `+tc.conf+`}`)
			req := authtest.NewReplayer(t, "GET /hello HTTP/1.1\nHost: a\nAuthorization: "+tc.auth, idx)
			if res := req.Rewrite(ch); res != tc.want {
				t.Fatalf("result %v, want %v", res, tc.want)
			}
			if n := testing.AllocsPerRun(100, func() { req.Rewrite(ch) }); n != 0 {
				t.Fatalf("%v allocations per request", n)
			}
		})
	}
}
