//go:build !race

package engine

import (
	"fmt"
	"testing"
	"time"
)

// chainYAML is the benchmark's plugin scenario (issue 8): key-auth,
// limit-count (local), proxy-rewrite and prometheus on the route.
func chainYAML(up string) string {
	return fmt.Sprintf(`consumers:
  - username: jack
    plugins:
      key-auth: {key: bench-key}
routes:
  - id: chain
    uri: /*
    plugins:
      key-auth: {}
      limit-count: {count: 1000000000, time_window: 60, key: remote_addr, policy: local}
      proxy-rewrite: {uri: /hello}
      prometheus: {}
    upstream:
      nodes:
        %q: 1
`, up)
}

var chainPlugins = []string{"key-auth", "limit-count", "proxy-rewrite", "prometheus"}

const chainRequest = "GET /any HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: wrk\r\napikey: bench-key\r\n\r\n"

// The plugins of the benchmark scenario add no allocation to a proxied
// request (issue 8): measured like TestProxiedRequestAllocatesNothing.
func TestPluginChainAllocatesNothing(t *testing.T) {
	up := fixedUpstream(t)
	g := startGatewayPlugins(t, chainYAML(up), Options{Loops: 1, Tick: time.Second}, chainPlugins...)
	measureAllocs(t, newRoundTripperFor(t, g.addr, chainRequest), "proxied request through key-auth, limit-count, proxy-rewrite and prometheus")
}

// BenchmarkProxyPluginChain is BenchmarkProxy through the scenario's plugins.
func BenchmarkProxyPluginChain(b *testing.B) {
	up := fixedUpstream(b)
	g := startGatewayPlugins(b, chainYAML(up), Options{Loops: 1}, chainPlugins...)
	rt := newRoundTripperFor(b, g.addr, chainRequest)
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}
