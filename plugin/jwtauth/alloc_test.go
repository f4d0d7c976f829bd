//go:build !race

package jwtauth_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// HS256 tokens, the common case, are checked without allocating once a
// loop has seen the credential; so are the failures.
func TestJWTAuthHMACAllocatesNothing(t *testing.T) {
	r, idx := snapshot(t)
	good := sign(t, "HS256", []byte("my-secret-key"), jwt.MapClaims{"key": "user-key", "exp": time.Now().Add(time.Hour).Unix()})
	for _, tc := range []struct {
		name, conf, auth string
		want             reqctx.Result
	}{
		{"valid", `{}`, "Bearer " + good, reqctx.Continue},
		{"valid, hidden", `{"hide_credentials": true}`, good, reqctx.Continue},
		{"expired", `{}`, apisixExpired, reqctx.Stop},
		{"invalid", `{}`, "x.y.z", reqctx.Stop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.RouteChain(t, r, `{"jwt-auth": `+tc.conf+`}`)
			c := plugintest.NewCtxWith(t, "GET /hello HTTP/1.1\nHost: a\nAuthorization: "+tc.auth, idx)
			res, allocs := plugintest.RewriteAllocs(t, ch, c)
			if res != tc.want {
				t.Fatalf("result %v, want %v: %s", res, tc.want, plugintest.Exit(c, "WWW-Authenticate"))
			}
			if allocs != 0 {
				t.Fatalf("%v allocations per request", allocs)
			}
		})
	}
}
