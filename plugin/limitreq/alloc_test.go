//go:build !race

package limitreq

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// The local policy's request path allocates nothing for a known key.
func TestLimitReqLocalAllocatesNothing(t *testing.T) {
	p := plugintest.Instance(t, Name, `{"rate": 1000000, "burst": 0, "key": "remote_addr", "nodelay": true}`,
		func(stored []byte) (*limitReq, error) { return compile(nil, stored, NewBuckets(0, nil)) })
	c := plugintest.NewCtx(t, hello)
	p.Access(c)
	allocs := testing.AllocsPerRun(1000, func() {
		c.Reset()
		if p.Access(c) == reqctx.Parked {
			t.Fatal("parked")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}
