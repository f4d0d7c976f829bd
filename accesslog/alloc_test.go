//go:build !race

package accesslog

import (
	"io"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// Logging a line allocates nothing once the loop's buffers have grown:
// the access log is on by default, for every request.
func TestLogAllocatesNothing(t *testing.T) {
	l, err := New(Options{Out: io.Discard, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := proxied(t, &reqctx.Loop{})
	c.SetURI([]byte("/rewritten")) // $upstream_uri built
	l.Log(c)
	if n := testing.AllocsPerRun(1000, func() { l.Log(c) }); n != 0 {
		t.Fatalf("%v allocations per line", n)
	}
}
