package jwtauth_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// BenchmarkJWTAuth replays one request through jwt-auth's rewrite
// (re-parsing the head each iteration) per algorithm.
func BenchmarkJWTAuth(b *testing.B) {
	r, idx := snapshot(b)
	ks := keys()
	exp := time.Now().Add(time.Hour).Unix()
	for _, bc := range []struct{ name, token string }{
		{"HS256", sign(b, "HS256", []byte("my-secret-key"), jwt.MapClaims{"key": "user-key", "exp": exp})},
		{"RS256", sign(b, "RS256", ks["RS256"], jwt.MapClaims{"key": "RS256-key", "exp": exp})},
		{"ES256", sign(b, "ES256", ks["ES256"], jwt.MapClaims{"key": "ES256-key", "exp": exp})},
		{"EdDSA", sign(b, "EdDSA", ks["EdDSA"], jwt.MapClaims{"key": "EdDSA-key", "exp": exp})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ch := plugintest.RouteChain(b, r, `{"jwt-auth": {}}`)
			c := plugintest.NewCtxWith(b, "GET /hello HTTP/1.1\nHost: a\nAuthorization: Bearer "+bc.token, idx)
			replay := plugintest.Replay(b, c)
			if res := plugintest.Rewrite(ch, c); res != reqctx.Continue {
				b.Fatal(plugintest.Exit(c, "WWW-Authenticate"))
			}
			b.ReportAllocs()
			for b.Loop() {
				replay()
				plugintest.Rewrite(ch, c)
			}
		})
	}
}
