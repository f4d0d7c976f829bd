package engine

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// A burst of concurrent requests leaves more idle connections than the
// pool size: they are kept through the surplus grace (the next burst
// reuses them instead of dialling), then trimmed to the size.
func TestSurplusIdleConnectionsAreTrimmedAfterTheGrace(t *testing.T) {
	release := make(chan struct{})
	var arrived sync.WaitGroup
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived.Done()
		<-release
		_, _ = io.WriteString(w, "ok")
	}))
	g := startGateway(t, "routes:\n  - id: all\n    uri: /*\n    upstream:\n      keepalive_pool: {size: 1}\n      nodes:\n        \""+up.addr+"\": 1\n",
		Options{Loops: 1, Tick: 20 * time.Millisecond, KeepaliveSurplusGrace: 400 * time.Millisecond})
	burst := func() {
		const n = 5
		arrived.Add(n)
		var done sync.WaitGroup
		clients := make([]*rawClient, n)
		for i := range clients {
			clients[i] = g.dial()
			clients[i].send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		}
		arrived.Wait() // five requests in flight: five upstream connections
		close(release)
		for _, c := range clients {
			done.Go(func() {
				if _, body := c.response("GET"); body != "ok" {
					t.Error(body)
				}
			})
		}
		done.Wait()
	}
	burst()
	if n := g.srv.Stats().UpstreamsOpen.Load(); n != 5 {
		t.Fatalf("%d upstream connections open right after the burst, want all 5 kept through the grace", n)
	}
	waitFor(t, "the surplus to be trimmed to the pool size", func() bool { return g.srv.Stats().UpstreamsOpen.Load() == 1 })
	if n := up.conns.Load(); n != 5 {
		t.Fatalf("%d upstream connections dialled, want 5", n)
	}
}
