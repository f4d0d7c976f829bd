package limitcount

import (
	"fmt"
	"testing"
)

func BenchmarkLocalAccess(b *testing.B) {
	p := instance(b, "/apisix/routes/bench", `{"count": 1000000000, "time_window": 60}`, NewStore(0, nil))
	raw := get("/hello")
	r := newRequest(b, raw, "127.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		r.set(b, raw, "127.0.0.1")
		p.Access(&r.c)
	}
}

// BenchmarkStoreParallel is every loop counting at once, over many keys.
func BenchmarkStoreParallel(b *testing.B) {
	s := NewStore(0, nil)
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "/apisix/routes/1:123456:10.0.%d.%d", i/256, i%256)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Incoming(keys[i%len(keys)], 1<<40, 1, 60e9)
			i++
		}
	})
}
