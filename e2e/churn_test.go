package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// addrEcho answers every request with the local address it was reached
// on. Listening on all addresses, one server stands for any number of
// upstream nodes 127.a.b.c:port.
func addrEcho(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Context().Value(http.LocalAddrContextKey).(net.Addr).String())
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// fdCount returns how many file descriptors the gateway process holds.
func (g *gatewayProc) fdCount() int {
	g.t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", g.cmd.Process.Pid))
	if err != nil {
		g.t.Fatal(err)
	}
	return len(ents)
}

// Upstream nodes that come and go (Kubernetes pod IPs, autoscaling) must not
// grow the gateway: 100K node additions and removals through etcd, with
// traffic keeping connections pooled to the nodes of the moment, leave the
// gateway's file descriptors and memory where they started (issue 7).
func TestNodeChurnLeavesNothingBehind(t *testing.T) {
	const (
		upstreams = 100
		rounds    = 1000 // upstreams × rounds = 100K nodes added and removed
		probeEach = 50
	)
	e := startEtcd(t)
	port := addrEcho(t)
	g := startEtcdGateway(t, "data_plane", e.clientURL, "")
	node := func(n int) string { // a distinct loopback address per n
		return fmt.Sprintf("127.%d.%d.%d:%d", 1+n/(250*256), (n/250)%256, 1+n%250, port)
	}
	ctx := context.Background()
	setNodes := func(round int) {
		ops := make([]clientv3.Op, 0, upstreams)
		for k := range upstreams {
			ops = append(ops, clientv3.OpPut("/apisix/upstreams/u"+strconv.Itoa(k),
				fmt.Sprintf(`{"nodes": {%q: 1}}`, node(round*upstreams+k))))
		}
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := e.cli.Txn(c).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// probe sends a few requests through every upstream of the round, so
	// each loop pools a connection to each current node.
	probe := func(round int) {
		g.waitServes("/r"+strconv.Itoa(upstreams-1), 200, node(round*upstreams+upstreams-1))
		for k := range upstreams {
			for range 3 {
				if st, body := g.get("/r" + strconv.Itoa(k)); st != 200 || body != node(round*upstreams+k) {
					t.Fatalf("round %d /r%d: %d %q", round, k, st, body)
				}
			}
		}
	}
	setNodes(0)
	for k := range upstreams {
		e.put("/routes/r"+strconv.Itoa(k), fmt.Sprintf(`{"uri": "/r%d", "upstream_id": "u%d"}`, k, k))
	}
	probe(0)
	probe(0)
	fds0, rss0 := g.fdCount(), g.rssBytes()
	for round := 1; round < rounds; round++ {
		setNodes(round)
		if round%probeEach == 0 {
			probe(round)
		}
	}
	probe(rounds - 1)
	// Idle connections to removed nodes close on the loops' next tick.
	var fds int
	waitUntil(t, "idle connections to removed nodes to close", func() bool {
		fds = g.fdCount()
		return fds <= fds0
	})
	rss := g.rssBytes()
	t.Logf("fds %d → %d; RSS %.1f → %.1f MiB", fds0, fds, float64(rss0)/(1<<20), float64(rss)/(1<<20))
	if growth := rss - rss0; growth > 24<<20 {
		t.Fatalf("RSS grew by %.1f MiB over 100K node changes", float64(growth)/(1<<20))
	}
}
