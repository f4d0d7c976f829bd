package balancer

import (
	"slices"
	"strconv"
	"testing"

	"github.com/sluicegw/sluice/config"
)

// FuzzCHash picks with any key from any node set (nodes, weights,
// priorities, duplicates), with any nodes tried and down: the pick keeps
// Pick's contract (never tried, never out of range, down and priority
// rules), and a picker built from the same nodes listed in reverse picks the
// same address: the ring depends on the node set, not its order.
func FuzzCHash(f *testing.F) {
	f.Add([]byte("user-1"), []byte{1, 1, 0, 2, 1, 0, 3, 1, 0}, []byte{0}, []byte{0})
	f.Add([]byte(""), []byte{1, 0, 0}, []byte{}, []byte{})
	f.Add([]byte("k"), []byte{1, 1, 1, 1, 1, 1, 2, 2, 0, 3, 9, 2}, []byte{0x0f}, []byte{0x30})
	f.Add([]byte("dup"), []byte{7, 3, 0, 7, 3, 0, 7, 1, 1}, []byte{0x01}, []byte{0x02})
	f.Fuzz(func(t *testing.T, key, spec, triedBits, downBits []byte) {
		// Three bytes a node: host, weight, priority. Up to 140 nodes, past
		// the 128 a Set keeps inline.
		var nodes config.Nodes
		for i := 0; i+2 < len(spec) && len(nodes) < 140; i += 3 {
			nodes = append(nodes, config.Node{
				Host:     "10.0.0." + strconv.Itoa(int(spec[i]%32)),
				Port:     80,
				Weight:   int(spec[i+1] % 4),
				Priority: int(spec[i+2]%3) - 1,
			})
		}
		n := len(nodes)
		var tried, down, rtried, rdown Set
		for i := range n {
			if i/8 < len(triedBits) && triedBits[i/8]&(1<<(i%8)) != 0 {
				tried.Add(i)
				rtried.Add(n - 1 - i)
			}
			if i/8 < len(downBits) && downBits[i/8]&(1<<(i%8)) != 0 {
				down.Add(i)
				rdown.Add(n - 1 - i)
			}
		}
		r := &Request{Key: key, Tried: &tried, Down: &down}
		var st State
		got := New(upstreamOf(config.CHash, nodes)).Pick(&st, r)
		checkPick(t, nodes, r, got)

		reversed := slices.Clone(nodes)
		slices.Reverse(reversed)
		rgot := New(upstreamOf(config.CHash, reversed)).Pick(&st, &Request{Key: key, Tried: &rtried, Down: &rdown})
		if (got < 0) != (rgot < 0) || got >= 0 && nodes[got].Addr() != reversed[rgot].Addr() {
			t.Fatalf("picked %d, but %d from the same nodes reversed", got, rgot)
		}
	})
}
