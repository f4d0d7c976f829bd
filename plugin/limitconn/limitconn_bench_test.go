package limitconn

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

// BenchmarkLocalAccessLog is one request counted in and out.
func BenchmarkLocalAccessLog(b *testing.B) {
	raw, err := plugintest.Checked(Name, `{"conn": 100, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`)
	if err != nil {
		b.Fatal(err)
	}
	l, err := compile(nil, raw, NewCounters(0))
	if err != nil {
		b.Fatal(err)
	}
	c := plugintest.NewCtx(b, hello)
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		l.Access(c)
		l.Log(c)
	}
}
