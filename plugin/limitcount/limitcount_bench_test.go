package limitcount

import (
	"fmt"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func BenchmarkLocalAccess(b *testing.B) {
	p := instance(b, "/apisix/routes/bench", `{"count": 1000000000, "time_window": 60}`, NewStore(0, nil))
	raw := get("/hello")
	r := plugintest.NewCtx(b, raw)
	b.ReportAllocs()
	for b.Loop() {
		plugintest.Reset(b, r, raw)
		p.Access(r)
	}
}

// BenchmarkLocalAccessHook is the hook alone: count, three headers.
func BenchmarkLocalAccessHook(b *testing.B) {
	p := instance(b, "/apisix/routes/bench-hook", `{"count": 1000000000, "time_window": 60}`, NewStore(0, nil))
	r := plugintest.NewCtx(b, get("/hello"))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset() // keeps the connection's address: the key
		p.Access(r)
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

// BenchmarkRedisAccess is the redis policy's request path against a real
// redis-server: Access on the loop, the script on a worker, Resume back.
// Parallel workers share the rueidis client, whose auto-pipelining batches
// their round trips.
func BenchmarkRedisAccess(b *testing.B) {
	port := plugintest.Redis(b)
	// redis_timeout is raised from APISIX's 1 s: on a loaded CI machine a
	// round trip past 1 s made the smoke run fail with a 500, which says
	// nothing about the code under test.
	conf := fmt.Sprintf(`{"count": 1000000000, "time_window": 60, "policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d, "redis_timeout": 30000}`, port)
	p := instance(b, "/apisix/routes/redis-bench", conf, NewStore(0, nil))
	raw := get("/hello")
	b.ReportAllocs()
	b.SetParallelism(32) // as the engine's workers, many calls in flight
	b.RunParallel(func(pb *testing.PB) {
		r := plugintest.NewCtx(b, raw)
		for pb.Next() {
			plugintest.Reset(b, r, raw)
			if status := runParked(p, r); status != 0 {
				b.Errorf("rejected with %d", status)
				return
			}
		}
	})
}
