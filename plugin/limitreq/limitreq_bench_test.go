package limitreq

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func BenchmarkLocalAccess(b *testing.B) {
	p := plugintest.Instance(b, Name, `{"rate": 1000000, "burst": 0, "key": "remote_addr", "nodelay": true}`,
		func(stored []byte) (*limitReq, error) { return compile(nil, stored, NewBuckets(0, nil)) })
	c := plugintest.NewCtx(b, hello)
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		p.Access(c)
	}
}
