//go:build !race

package sync

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/sluicegw/sluice/internal/httpmethod"
	"github.com/sluicegw/sluice/trie"
)

// Snapshot.Match, what the engine calls once per request, allocates
// nothing with 100K routes loaded through the Builder, over the whole
// table (STYLE rule 15).
func TestSnapshotMatchAllocatesNothing(t *testing.T) {
	const n = 100_000
	b := &Builder{Mode: trie.HostURI}
	s, problems := b.Apply(1, routeSet(n), true)
	if len(problems) > 0 {
		t.Fatal(problems[0])
	}
	paths := make([][]byte, n)
	for i := range paths {
		paths[i] = fmt.Appendf(nil, "/svc%d/api/v1/res%d", i%100, i)
	}
	q := &trie.Query{Method: httpmethod.Get.Bit(), RemoteAddr: netip.MustParseAddr("127.0.0.1")}
	i := 0
	if allocs := testing.AllocsPerRun(5000, func() {
		q.Path = paths[i*7919%n]
		if s.Match(q) == nil {
			t.Fatalf("no route for %s", q.Path)
		}
		i++
	}); allocs != 0 {
		t.Fatalf("%v allocations per match", allocs)
	}
}
