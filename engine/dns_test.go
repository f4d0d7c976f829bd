package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/discovery"
	"github.com/sluicegw/sluice/internal/dnstest"
	cfgsync "github.com/sluicegw/sluice/sync"
)

func withResolver(t *testing.T, o discovery.Options) (func(*cfgsync.Builder), *discovery.Resolver) {
	r := discovery.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return func(b *cfgsync.Builder) { b.Resolver = r }, r
}

func portOf(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// A host-name node is resolved when the config compiles: requests dial its
// address on the loop, and pass_host node sends the name.
func TestHostNameNode(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	with, _ := withResolver(t, discovery.Options{})
	port := portOf(t, up.addr)
	g := startGateway(t, fmt.Sprintf("routes:\n  - uri: /*\n    upstream:\n      pass_host: node\n      nodes:\n        \"localhost:%d\": 1\n", port), Options{}, with)
	status, body, _ := g.fetch("GET", "/x")
	if status != 200 || !strings.Contains(body, fmt.Sprintf("host=localhost:%d\n", port)) {
		t.Fatalf("%d %s", status, body)
	}
}

// discovery_type dns: SRV records give the nodes, their ports and weights;
// a changed answer reaches traffic as a new snapshot.
func TestDNSDiscovery(t *testing.T) {
	a, b, c := namedUpstream(t, "a", 0), namedUpstream(t, "b", 0), namedUpstream(t, "c", 0)
	dns := dnstest.Start(t)
	dns.SetAddrs("one.svc.test", "127.0.0.1")
	dns.SetSRV("api.svc.test",
		dnstest.SRV{Weight: 3, Port: uint16(portOf(t, a.addr)), Target: "one.svc.test"},
		dnstest.SRV{Weight: 1, Port: uint16(portOf(t, b.addr)), Target: "one.svc.test"})
	with, _ := withResolver(t, discovery.Options{Servers: []string{dns.Addr}, Valid: 50 * time.Millisecond})
	g := startGateway(t, "routes:\n  - uri: /*\n    upstream:\n      discovery_type: dns\n      service_name: api.svc.test\n", Options{Loops: 1}, with)
	got := map[string]int{}
	for range 8 {
		_, body, _ := g.fetch("GET", "/")
		got[body]++
	}
	if got["a"] != 6 || got["b"] != 2 {
		t.Fatalf("SRV weights 3:1 over 8 requests: %v", got)
	}
	// The service moves to c: the resolver notices, the builder recompiles.
	dns.SetSRV("api.svc.test", dnstest.SRV{Weight: 1, Port: uint16(portOf(t, c.addr)), Target: "one.svc.test"})
	// A report may be about an answer from before the change (the
	// resolver re-resolves every 50 ms): refresh on each until the move
	// is served.
	deadline := time.After(10 * time.Second)
	for moved := false; !moved; {
		select {
		case <-g.b.DNSChanges():
		case <-deadline:
			t.Fatal("the resolver never reported the change")
		}
		snap, problems := g.b.RefreshDNS(time.Now().UnixNano())
		if snap == nil || len(problems) > 0 {
			t.Fatalf("refresh: %v %v", snap, problems)
		}
		g.store.Publish(snap)
		_, body, _ := g.fetch("GET", "/")
		moved = body == "c"
	}
	for range 3 {
		if _, body, _ := g.fetch("GET", "/"); body != "c" {
			t.Fatalf("after the change: %q", body)
		}
	}
}
