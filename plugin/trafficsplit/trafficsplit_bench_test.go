package trafficsplit

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func BenchmarkAccess(b *testing.B) {
	for _, bc := range []struct{ name, conf, query string }{
		{"unconditional", `{"rules": [{"weighted_upstreams": [{"upstream_id": "1", "weight": 3}, {"upstream_id": "2", "weight": 2}, {"weight": 1}]}]}`, ""},
		{"match", `{"rules": [{"match": [{"vars": [["arg_name", "==", "jack"], ["http_x-api-key", "==", "k"]]}], "weighted_upstreams": [{"upstream_id": "1", "weight": 3}, {"weight": 1}]}]}`, "?name=jack"},
		{"miss", `{"rules": [{"match": [{"vars": [["arg_name", "==", "rose"]]}], "weighted_upstreams": [{"upstream_id": "1"}]}]}`, "?name=jack"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ch := compile(b, bc.conf)
			c := plugintest.NewCtx(b, "GET /server_port"+bc.query+" HTTP/1.1\r\nHost: x\r\nX-Api-Key: k\r\n")
			b.ReportAllocs()
			for b.Loop() {
				c.UpstreamOverride = nil
				plugintest.Request(ch, c)
			}
		})
	}
}
