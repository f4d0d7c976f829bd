package limitreq

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func BenchmarkLocalAccess(b *testing.B) {
	raw, err := plugintest.Checked(Name, `{"rate": 1000000, "burst": 0, "key": "remote_addr", "nodelay": true}`)
	if err != nil {
		b.Fatal(err)
	}
	p, err := compile(nil, raw, NewBuckets(0, nil))
	if err != nil {
		b.Fatal(err)
	}
	c := plugintest.NewCtx(b, hello)
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		p.Access(c)
	}
}
