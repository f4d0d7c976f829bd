package proxyrewrite

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/plugin"
)

func benchmarkRewrite(b *testing.B, conf string) {
	ch := plugintest.Chain(b, "proxy-rewrite", conf)
	c := plugintest.NewCtx(b, "GET /hello/world?q=1&a=b HTTP/1.1\r\nHost: localhost\r\nX-A: v\r\nUser-Agent: wrk")
	replay := plugintest.Replay(b, c)
	b.ReportAllocs()
	for b.Loop() {
		replay()
		ch.Run(plugin.Rewrite, c, 0, nil)
	}
}

// The benchmark scenario's conf: a static uri and a header.
func BenchmarkRewriteStatic(b *testing.B) {
	benchmarkRewrite(b, `{"uri": "/plugin_proxy_rewrite", "headers": {"X-Api-Engine": "sluice"}}`)
}

func BenchmarkRewriteTemplates(b *testing.B) {
	benchmarkRewrite(b, `{"uri": "/v2$uri", "host": "up.example", "headers": {"set": {"X-Api": "$http_x_a", "X-Client": "$remote_addr"}}}`)
}

// A matching regex_uri pays for one submatch slice (Go's regexp).
func BenchmarkRewriteRegex(b *testing.B) {
	benchmarkRewrite(b, `{"regex_uri": ["^/hello/(.*)", "/v2/$1"], "headers": {"set": {"X-Cap": "$1"}}}`)
}

// The replay alone, to subtract.
func BenchmarkReplayOnly(b *testing.B) {
	c := plugintest.NewCtx(b, "GET /hello/world?q=1&a=b HTTP/1.1\r\nHost: localhost\r\nX-A: v\r\nUser-Agent: wrk")
	replay := plugintest.Replay(b, c)
	b.ReportAllocs()
	for b.Loop() {
		replay()
	}
}
