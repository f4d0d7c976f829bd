package faultinjection

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

func BenchmarkRewrite(b *testing.B) {
	for _, bc := range []struct{ name, conf string }{
		{"abort-static", `{"abort": {"http_status": 403, "body": "Fault Injection!\n"}}`},
		{"abort-vars", `{"abort": {"http_status": 403, "body": "client addr: $remote_addr\n", "headers": {"X-Uri": "$uri"}, "vars": [[["arg_a", "==", "1"]]]}}`},
		{"skip", `{"abort": {"http_status": 403, "percentage": 0}}`},
		{"delay-park-resume", `{"delay": {"duration": 1}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ch := plugintest.Chain(b, "fault-injection", bc.conf)
			c := plugintest.NewCtx(b, "GET /hello?a=1 HTTP/1.1\r\nHost: x\r\n")
			replay := plugintest.Replay(b, c)
			b.ReportAllocs()
			for b.Loop() {
				replay()
				if plugintest.Request(ch, c) == reqctx.Parked {
					c.TakeParked().Resume(c) // the sleep itself is not measured
				}
			}
		})
	}
}
