//go:build !race

package keyauth_test

import (
	"testing"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
	"github.com/sluicegw/sluice/plugin/internal/authtest"
)

// request is one connection's worth of reuse: the head is parsed into the
// same Ctx each time, as the engine does, so only the plugin can allocate.
type request struct {
	c    *reqctx.Ctx
	head []byte
	cfg  reqctx.Config
	lim  http1.Limits
}

func newRequest(t testing.TB, raw string, cfg reqctx.Config) *request {
	c := authtest.Ctx(t, raw, cfg)
	return &request{c: c, head: append([]byte(nil), c.Head...), cfg: cfg, lim: http1.Limits{}.WithDefaults()}
}

func (r *request) run(ch *plugin.Chain) reqctx.Result {
	c := r.c
	c.Reset()
	c.Head = append(c.Head[:0], r.head...)
	if c.Req.Parse(c.Head, &r.lim) != nil {
		return reqctx.Parked // never: the head parsed once already
	}
	c.Begin(c.Req.Path.Of(c.Head), c.Req.HostName.Of(c.Head), time.Time{})
	c.Config = r.cfg
	res, _ := ch.Run(plugin.Rewrite, c, 0, nil)
	return res
}

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
			req := newRequest(t, tc.req, idx)
			if res := req.run(ch); res != tc.want || res == reqctx.Parked {
				t.Fatalf("result %v, want %v", res, tc.want)
			}
			if n := testing.AllocsPerRun(100, func() { req.run(ch) }); n != 0 {
				t.Fatalf("%v allocations per request", n)
			}
		})
	}
}
