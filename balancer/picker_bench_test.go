package balancer

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

var benchSizes = []int{3, 10, 100}

func benchPicker(b *testing.B, retry bool) {
	for _, kind := range balancers {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%v/%d", kind, n), func(b *testing.B) {
				weights := make([]int, n)
				for i := range weights {
					weights[i] = 1 + i%3
				}
				p := pickerOf(kind, weights...)
				stats := make(statsOf, n)
				for i := range stats {
					stats[i].Responded(int64ns(i), 0)
				}
				keys := make([][]byte, 1024)
				for i := range keys {
					keys[i] = []byte("10.0." + strconv.Itoa(i>>8) + "." + strconv.Itoa(i&255))
				}
				var st State
				var tried, down Set
				if retry {
					tried.Add(0)
					tried.Add(n / 2)
					down.Add(1)
				}
				r := &Request{Tried: &tried, Down: &down, Stats: stats, Now: int64(time10s)}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r.Key = keys[i&1023]
					i++
					if k := p.Pick(&st, r); k >= 0 && !retry {
						stats[k].InFlight ^= 1 // some least_conn churn
					}
				}
			})
		}
	}
}

const time10s = 10 * sec

func int64ns(i int) time.Duration { return time.Duration(1e6 * (1 + i%7)) }

// BenchmarkPick is a first try: nothing tried, nothing down.
func BenchmarkPick(b *testing.B) { benchPicker(b, false) }

// BenchmarkPickRetry is a retry with two nodes tried and one down.
func BenchmarkPickRetry(b *testing.B) { benchPicker(b, true) }

// BenchmarkNew is the build cost per upstream version (into the snapshot).
func BenchmarkNew(b *testing.B) {
	for _, kind := range balancers {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%v/%d", kind, n), func(b *testing.B) {
				u := upstreamOf(kind, nodesOf(make([]int, n)...))
				for i := range u.Nodes {
					u.Nodes[i].Weight = 1
				}
				b.ReportAllocs()
				for b.Loop() {
					New(u)
				}
			})
		}
	}
}

// BenchmarkNodeStats is what the engine pays per attempt.
func BenchmarkNodeStats(b *testing.B) {
	var s NodeStats
	b.ReportAllocs()
	now := int64(0)
	for b.Loop() {
		now += 100_000
		s.Started()
		s.Responded(time.Duration(now&0xfffff), now)
		s.Finished()
	}
}
