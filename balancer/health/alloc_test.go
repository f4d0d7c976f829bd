//go:build !race

package health_test

import (
	"testing"

	"github.com/sluicegw/sluice/balancer/health"
)

// TestHotPathAllocatesNothing: what the event loops call per request —
// Down, and Report of every kind, including the reports that move a node
// across a threshold — allocates nothing.
func TestHotPathAllocatesNothing(t *testing.T) {
	m := quietManager(t)
	nodes := []string{"127.0.0.1:1", "127.0.0.1:2"}
	c := m.Acquire("upstreams/1", upstream(t, `{"active": {}, "passive": {"healthy": {"successes": 1}}}`, nodes...), nodes)
	var sink int
	allocs := testing.AllocsPerRun(1000, func() {
		sink += c.Down().Len()
		c.Report(0, health.HTTPStatus(200))
		c.Report(0, health.HTTPStatus(404))
		c.Report(1, health.TCPFailure)
		c.Report(1, health.TCPFailure) // down
		c.Report(1, health.Timeout)
		c.Report(1, health.HTTPStatus(200)) // back (one success)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per request", allocs)
	}
	_ = sink
}

func BenchmarkReport(b *testing.B) {
	m := health.NewManager(health.Options{})
	defer m.Close()
	nodes := []string{"127.0.0.1:1"}
	c := m.Acquire("upstreams/1", upstream(b, `{"active": {}, "passive": {}}`, nodes...), nodes)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Report(0, health.HTTPStatus(200))
			_ = c.Down()
		}
	})
}
