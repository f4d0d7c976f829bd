package sync

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/discovery"
	"github.com/sluicegw/sluice/internal/dnstest"
	"github.com/sluicegw/sluice/internal/testcert"
	"github.com/sluicegw/sluice/trie"
)

// An https upstream's client certificate named by ssl id loads even though
// ssls apply after upstreams in a full load, and follows changes to the ssl.
func TestUpstreamClientCertID(t *testing.T) {
	cert, key := testcert.Pair(t, "client-a")
	ssl := func(cert, key string) string {
		b, _ := json.Marshal(map[string]any{"type": "client", "cert": cert, "key": key})
		return string(b)
	}
	b := &Builder{Mode: trie.URI}
	s, problems := b.Apply(1, []Change{
		put(config.Upstreams, "u1", 1, `{"scheme": "https", "tls": {"client_cert_id": "c1"}, "nodes": {"127.0.0.1:443": 1}}`),
		put(config.Routes, "r1", 2, `{"uri": "/a", "upstream_id": "u1"}`),
		put(config.SSLs, "c1", 3, ssl(cert, key)),
	}, true)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	u := upOf(s, "/a")
	if u.TLS == nil || len(u.TLS.Certificates) != 1 || !u.TLS.InsecureSkipVerify {
		t.Fatalf("TLS config %+v", u.TLS)
	}
	first := u.TLS.Certificates[0].Certificate[0]
	cert2, key2 := testcert.Pair(t, "client-b")
	s, _ = b.Apply(2, []Change{put(config.SSLs, "c1", 4, ssl(cert2, key2))}, false)
	u2 := upOf(s, "/a")
	if string(u2.TLS.Certificates[0].Certificate[0]) == string(first) {
		t.Fatal("the upstream kept the old client certificate")
	}
	// Pools are per way of speaking: the same address over http and https
	// (or with another client certificate) are different nodes.
	if u.Nodes[0].Ref == u2.Nodes[0].Ref {
		t.Fatal("connections made with another client certificate would be shared")
	}
}

func TestHTTPAndHTTPSNodesArePooledApart(t *testing.T) {
	b := &Builder{Mode: trie.URI}
	s, _ := b.Apply(1, []Change{
		put(config.Routes, "r1", 1, `{"uri": "/plain", "upstream": {"nodes": {"127.0.0.1:8443": 1}}}`),
		put(config.Routes, "r2", 2, `{"uri": "/tls", "upstream": {"scheme": "https", "nodes": {"127.0.0.1:8443": 1}}}`),
		put(config.Routes, "r3", 3, `{"uri": "/tls2", "upstream": {"scheme": "https", "nodes": {"127.0.0.1:8443": 1}}}`),
	}, true)
	plain, tls1, tls2 := upOf(s, "/plain").Nodes[0], upOf(s, "/tls").Nodes[0], upOf(s, "/tls2").Nodes[0]
	if plain.Ref == tls1.Ref || tls1.Ref != tls2.Ref {
		t.Fatalf("refs: plain %v, https %v and %v", plain.Ref, tls1.Ref, tls2.Ref)
	}
	if tls1.Addr != "127.0.0.1:8443" || string(tls1.HostHeader) != "127.0.0.1:8443" {
		t.Fatalf("%q %q", tls1.Addr, tls1.HostHeader)
	}
}

// Host-name nodes compile to addresses; a changed answer recompiles the
// upstreams that use the name, and only those.
func TestHostNodesRefresh(t *testing.T) {
	dns := dnstest.Start(t)
	dns.SetAddrs("api.test", "127.0.0.5")
	r := discovery.New(discovery.Options{Servers: []string{dns.Addr}})
	b := &Builder{Mode: trie.URI, Resolver: r}
	s, _ := b.Apply(1, []Change{
		put(config.Upstreams, "u1", 1, `{"pass_host": "node", "nodes": {"api.test:8080": 1}}`),
		put(config.Routes, "r1", 2, `{"uri": "/a", "upstream_id": "u1"}`),
		put(config.Routes, "r2", 3, `{"uri": "/b", "upstream": {"nodes": {"127.0.0.1:1": 1}}}`),
	}, true)
	n := upOf(s, "/a").Nodes[0]
	if n.IP != netip.MustParseAddrPort("127.0.0.5:8080") || n.Addr != "127.0.0.5:8080" || string(n.HostHeader) != "api.test:8080" {
		t.Fatalf("node %+v", n)
	}
	if snap, _ := b.RefreshDNS(2); snap != nil {
		t.Fatal("a refresh with no change built a snapshot")
	}
	other := upOf(s, "/b")
	dns.SetAddrs("api.test", "127.0.0.6")
	r.Refresh() // as Run would once the answer aged
	<-b.DNSChanges()
	s2, problems := b.RefreshDNS(3)
	if s2 == nil || len(problems) > 0 {
		t.Fatalf("%v %v", s2, problems)
	}
	if n := upOf(s2, "/a").Nodes[0]; n.IP != netip.MustParseAddrPort("127.0.0.6:8080") {
		t.Fatalf("after the change: %+v", n)
	}
	if upOf(s2, "/b") != other {
		t.Fatal("an upstream without host names was compiled again")
	}
}
