//go:build !race

package proxyrewrite

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/plugin"
)

// proxy-rewrite is in the benchmark scenario: once a loop's buffers have
// grown, rewriting a request allocates nothing (templates expand into
// per-loop buffers, edits go to the context's arena).
func TestRewriteAllocatesNothing(t *testing.T) {
	for name, conf := range map[string]string{
		"static":    `{"uri": "/plugin_proxy_rewrite", "host": "apisix.iresty.com", "method": "POST"}`,
		"templates": `{"uri": "/v2$uri?from=$remote_addr", "headers": {"set": {"X-Api": "$http_x_a", "X-Static": "1"}, "add": {"X-Multi": ["a", "$arg_q"]}, "remove": ["X-Drop"]}}`,
		"legacy":    `{"uri": "/x", "headers": {"X-Api-Engine": "apisix", "X-Empty": ""}}`,
		"nomatch":   `{"regex_uri": ["^/nomatch/(.*)", "/$1"]}`,
		"unsafe":    `{"uri": "/p?x=1", "use_real_request_uri_unsafe": true}`,
	} {
		t.Run(name, func(t *testing.T) {
			ch := plugintest.Chain(t, "proxy-rewrite", conf)
			c := plugintest.NewCtx(t, "GET /hello/world?q=1&a=b HTTP/1.1\r\nHost: localhost\r\nX-A: v\r\nX-Drop: 1")
			replay := plugintest.Replay(t, c)
			run := func() {
				replay()
				ch.Run(plugin.Rewrite, c, 0, nil)
			}
			run()
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Fatalf("%v allocations per request", n)
			}
		})
	}
}
