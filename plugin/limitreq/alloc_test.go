//go:build !race

package limitreq

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// The local policy's request path allocates nothing for a known key.
func TestLimitReqLocalAllocatesNothing(t *testing.T) {
	raw, err := plugintest.Checked(Name, `{"rate": 1000000, "burst": 0, "key": "remote_addr", "nodelay": true}`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := compile(nil, raw, NewBuckets(0, nil))
	if err != nil {
		t.Fatal(err)
	}
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
