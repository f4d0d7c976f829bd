package ipset

import (
	"fmt"
	"net/netip"
	"testing"
)

func BenchmarkContains(b *testing.B) {
	for _, n := range []int{1, 16, 1024} {
		entries := make([]string, n)
		for i := range entries {
			entries[i] = fmt.Sprintf("10.%d.%d.0/25", i/256, i%256)
		}
		s, err := Parse(entries)
		if err != nil {
			b.Fatal(err)
		}
		a := netip.MustParseAddr("10.3.7.9")
		b.Run(fmt.Sprintf("v4/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Contains(a)
			}
		})
	}
}
