package limitconn

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

// BenchmarkLocalAccessLog is one request counted in and out.
func BenchmarkLocalAccessLog(b *testing.B) {
	l := plugintest.Instance(b, Name, `{"conn": 100, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`,
		func(stored []byte) (*limitConn, error) { return compile(nil, stored, NewCounters(0)) })
	c := plugintest.NewCtx(b, hello)
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		l.Access(c)
		l.Log(c)
	}
}
