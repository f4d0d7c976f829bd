package discovery

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/dnstest"
)

func TestHostIsCachedAndRefreshed(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetAddrs("api.test", "127.0.0.7")
	r := New(Options{Servers: []string{dns.Addr}, Valid: time.Hour})
	addr, err := r.Host("api.test")
	if err != nil || addr != netip.MustParseAddr("127.0.0.7") {
		t.Fatalf("%v %v", addr, err)
	}
	dns.SetAddrs("api.test", "127.0.0.8")
	if again, _ := r.Host("api.test"); again != addr {
		t.Fatalf("a cached answer changed before it aged: %v", again)
	}
	// An aged answer is resolved again, and the change is signalled.
	r.refresh(time.Now().Add(2 * time.Hour))
	select {
	case <-r.Changed():
	default:
		t.Fatal("no change signalled")
	}
	if hosts, _ := r.Take(); !slices.Equal(hosts, []string{"api.test"}) {
		t.Fatalf("changed hosts %v", hosts)
	}
	if now, _ := r.Host("api.test"); now != netip.MustParseAddr("127.0.0.8") {
		t.Fatalf("after refresh: %v", now)
	}
	// A failed refresh keeps the last good answer.
	dns.SetAddrs("api.test")
	r.refresh(time.Now().Add(4 * time.Hour))
	if now, err := r.Host("api.test"); err != nil || now != netip.MustParseAddr("127.0.0.8") {
		t.Fatalf("after a failed refresh: %v %v", now, err)
	}
	// Released by everyone, the name leaves the cache.
	for range 4 {
		r.ReleaseHost("api.test")
	}
	if len(r.hosts) != 0 {
		t.Fatalf("cache still holds %v", r.hosts)
	}
}

func TestHostPrefersIPv4AndKeepsItsChoice(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetAddrs("multi.test", "::1", "127.0.0.1", "127.0.0.2", "127.0.0.3")
	r := New(Options{Servers: []string{dns.Addr}})
	addr, err := r.Host("multi.test")
	if err != nil || !addr.Is4() {
		t.Fatalf("%v %v", addr, err)
	}
	for i := range 10 {
		r.refresh(time.Now().Add(time.Duration(i+1) * time.Hour))
	}
	if h, _ := r.Take(); len(h) != 0 {
		t.Fatalf("refreshes with the same answers changed %v", h)
	}
}

func TestServiceSRVAndA(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetAddrs("a.blah.test", "127.0.0.1")
	dns.SetAddrs("b.blah.test", "127.0.0.2", "127.0.0.3")
	dns.SetSRV("srv.blah.test",
		dnstest.SRV{Priority: 10, Weight: 60, Port: 1980, Target: "a.blah.test"},
		dnstest.SRV{Priority: 20, Weight: 20, Port: 1981, Target: "b.blah.test"})
	r := New(Options{Servers: []string{dns.Addr}})
	nodes, err := r.Service("srv.blah.test", 80)
	if err != nil {
		t.Fatal(err)
	}
	// APISIX's documented example: B's weight split between its addresses,
	// lower SRV priority first (as a higher node priority).
	want := []Node{
		{netip.MustParseAddr("127.0.0.1"), 1980, 60, -10},
		{netip.MustParseAddr("127.0.0.2"), 1981, 10, -20},
		{netip.MustParseAddr("127.0.0.3"), 1981, 10, -20},
	}
	if !slices.Equal(nodes, want) {
		t.Fatalf("SRV nodes %v, want %v", nodes, want)
	}
	nodes, err = r.Service("b.blah.test:8080", 80)
	want = []Node{{netip.MustParseAddr("127.0.0.2"), 8080, 1, 0}, {netip.MustParseAddr("127.0.0.3"), 8080, 1, 0}}
	if err != nil || !slices.Equal(nodes, want) {
		t.Fatalf("A nodes %v %v, want %v", nodes, err, want)
	}
	if _, err := r.Service("nowhere.test", 80); err == nil {
		t.Fatal("an unknown service resolved")
	}
}

func TestPrefetch(t *testing.T) {
	dns := dnstest.Start(t)
	for i, n := range []string{"a.test", "b.test", "c.test"} {
		dns.SetAddrs(n, "127.0.1."+string(rune('1'+i)))
	}
	r := New(Options{Servers: []string{dns.Addr}})
	r.Prefetch([]string{"a.test", "b.test", "c.test"})
	dns.SetAddrs("b.test") // gone from DNS: Host must answer from the cache
	if addr, err := r.Host("b.test"); err != nil || addr != netip.MustParseAddr("127.0.1.2") {
		t.Fatalf("%v %v", addr, err)
	}
	// Prefetched names nobody holds leave at the next refresh.
	r.refresh(time.Now())
	if len(r.hosts) != 1 || r.hosts["b.test"] == nil {
		t.Fatalf("cache after refresh: %v", r.hosts)
	}
}
