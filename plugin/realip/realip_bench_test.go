package realip

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func BenchmarkRewrite(b *testing.B) {
	for _, bc := range []struct{ name, conf, head string }{
		{"xff", `{"source": "http_x_forwarded_for"}`, "X-Forwarded-For: 10.0.0.1, 1.1.1.1:8080"},
		{"recursive", `{"source": "http_x_forwarded_for", "recursive": true, "trusted_addresses": ["127.0.0.0/8", "10.0.0.0/8"]}`,
			"X-Forwarded-For: 1.1.1.1, 10.0.0.2, 10.0.0.1"},
		{"header", `{"source": "http_x_real_ip"}`, "X-Real-IP: 2001:db8::1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ch := plugintest.Chain(b, "real-ip", bc.conf)
			raw := "GET /hello HTTP/1.1\r\nHost: x\r\n" + bc.head + "\r\n"
			c := plugintest.NewCtx(b, raw)
			replay := plugintest.Replay(b, c)
			b.ReportAllocs()
			for b.Loop() {
				replay()
				plugintest.Request(ch, c)
			}
		})
	}
}
