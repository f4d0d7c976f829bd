package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicegw/sluice/internal/dnstest"
	"github.com/sluicegw/sluice/internal/testcert"
)

// restartableOrigin is a testOrigin on a fixed address that can be killed
// (listener and every connection closed at once) and brought back.
type restartableOrigin struct {
	t    *testing.T
	o    *testOrigin
	mu   sync.Mutex // guards srv
	srv  *http.Server
	addr string
}

func startRestartableOrigin(t *testing.T) *restartableOrigin {
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	r := &restartableOrigin{t: t, addr: addr, o: &testOrigin{addr: addr, port: ln.Addr().(*net.TCPAddr).Port}}
	r.serve(ln)
	t.Cleanup(r.kill)
	return r
}

func (r *restartableOrigin) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.o.serve)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (r *restartableOrigin) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		_ = r.srv.Close()
		r.srv = nil
	}
}

func (r *restartableOrigin) restart() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.serve(ln)
}

func upstreamNodes(origins ...string) string {
	var b strings.Builder
	for _, o := range origins {
		fmt.Fprintf(&b, "        %q: 1\n", o)
	}
	return b.String()
}

// A node killed under load: retries hide it and passive checks eject it
// (no idempotent request fails); brought back, the active check re-admits
// it.
func TestNodeKilledUnderLoad(t *testing.T) {
	a, b, c := startRestartableOrigin(t), startRestartableOrigin(t), startRestartableOrigin(t)
	g := startStandalone(t, "", `routes:
  - uri: /*
    upstream:
      type: roundrobin
      checks:
        active:
          http_path: /status
          healthy: {interval: 1, successes: 1}
          unhealthy: {interval: 1, tcp_failures: 1}
      nodes:
`+upstreamNodes(a.addr, b.addr, c.addr))
	g.waitServes("/hello", 200, "hello world")

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("http://" + g.addr + "/hello")
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "hello world\n" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %q %s", resp.StatusCode, body, resp.Header.Get("X-APISIX-Upstream-Status")))
				}
			}
		})
	}
	waitCount := func(what string, n int64) {
		t.Helper()
		waitUntil(t, what, func() bool { return sent.Load() >= n })
	}
	waitCount("load before the kill", 500)
	b.kill()
	killedAt := sent.Load()
	waitCount("load after the kill", killedAt+2000)
	// Ejected: the control API shows it unhealthy.
	waitUntil(t, "the killed node marked unhealthy", func() bool { return nodeStatus(t, g, b.o.port) == "unhealthy" })
	b.restart()
	// Re-admitted by the active check: traffic reaches it again.
	waitUntil(t, "the node back in traffic", func() bool {
		_, body := g.get("/server_port")
		return body == strconv.Itoa(b.o.port)
	})
	close(stop)
	wg.Wait()
	t.Logf("%d requests, %d failed; killed after %d", sent.Load(), failed.Load(), killedAt)
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
}

// nodeStatus returns the control API's status of the node on port.
func nodeStatus(t *testing.T, g *gatewayProc, port int) string {
	resp, err := http.Get("http://" + g.control + "/v1/healthcheck")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var list []struct {
		Nodes []struct {
			Port   int    `json:"port"`
			Status string `json:"status"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return ""
	}
	for _, c := range list {
		for _, n := range c.Nodes {
			if n.Port == port {
				return n.Status
			}
		}
	}
	return ""
}

func TestBalancersEndToEnd(t *testing.T) {
	a, b, c := startOrigin(t), startOrigin(t), startOrigin(t)
	g := startStandalone(t, "", fmt.Sprintf(`routes:
  - uri: /server_port
    upstream:
      type: roundrobin
      nodes:
        %q: 3
        %q: 2
        %q: 1
  - uri: /hello
    upstream:
      type: chash
      hash_on: header
      key: X-User
      nodes:
`+upstreamNodes(a.addr, b.addr, c.addr)+`  - uri: /status
    upstream:
      nodes:
        %q: 1
        %q: 1
        %q: 1
`, a.addr, b.addr, c.addr, dead(t), dead(t), a.addr))
	got := map[string]int{}
	for range 60 {
		_, body := g.get("/server_port")
		got[body]++
	}
	if got[strconv.Itoa(a.port)] != 30 || got[strconv.Itoa(b.port)] != 20 || got[strconv.Itoa(c.port)] != 10 {
		t.Errorf("weights 3:2:1 over 60 requests: %v", got)
	}
	// Retries hide two dead nodes of three.
	for i := range 10 {
		if code, body := g.get("/status"); code != 200 || body != "ok\n" {
			t.Fatalf("request %d with two dead nodes: %d %q", i, code, body)
		}
	}
}

func dead(t *testing.T) string {
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// chash maps a key to the same node on two sluice nodes sharing an etcd.
func TestCHashAcrossTwoNodes(t *testing.T) {
	e := startEtcd(t)
	var nodes []string
	for range 3 {
		nodes = append(nodes, fmt.Sprintf("%q: 1", startOrigin(t).addr))
	}
	cp := startEtcdGateway(t, "traditional", e.clientURL, "")
	dp := startEtcdGateway(t, "data_plane", e.clientURL, "")
	route := `{"uri": "/server_port", "upstream": {"type": "chash", "hash_on": "header", "key": "X-User", "nodes": {` + strings.Join(nodes, ", ") + `}}}`
	if code, body := cp.adminCall("PUT", "/apisix/admin/routes/1", route); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	cp.waitServes("/server_port", 200, "")
	dp.waitServes("/server_port", 200, "")
	get := func(g *gatewayProc, key string) string {
		req, _ := http.NewRequest("GET", "http://"+g.addr+"/server_port", nil)
		req.Header.Set("X-User", key)
		req.Close = true // a new connection each time: any loop
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	spread := map[string]bool{}
	for k := range 60 {
		key := "user-" + strconv.Itoa(k)
		want := get(cp.gatewayProc, key)
		spread[want] = true
		for _, g := range []*gatewayProc{cp.gatewayProc, dp.gatewayProc, cp.gatewayProc, dp.gatewayProc} {
			if got := get(g, key); got != want {
				t.Fatalf("key %s: %s on one node, %s on another", key, want, got)
			}
		}
	}
	if len(spread) != 3 {
		t.Fatalf("60 keys reached %d of 3 nodes", len(spread))
	}
}

func TestUpstreamFailuresEndToEnd(t *testing.T) {
	o := startOrigin(t)
	d1, d2 := dead(t), dead(t)
	g := startStandalone(t, "", fmt.Sprintf(`routes:
  - uri: /mysleep
    upstream:
      timeout: {connect: 1, send: 1, read: 0.3}
      nodes:
        %q: 1
  - uri: /server_error
    upstream:
      nodes:
        %q: 1
  - uri: /down
    upstream:
      nodes:
        %q: 1
        %q: 1
  - uri: /none
    plugins: {}
`, o.addr, o.addr, d1, d2))
	check := func(path string, status int, ups string) {
		t.Helper()
		resp, err := http.Get("http://" + g.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status || resp.Header.Get("X-APISIX-Upstream-Status") != ups {
			t.Errorf("%s: %d %q, want %d %q", path, resp.StatusCode, resp.Header.Get("X-APISIX-Upstream-Status"), status, ups)
		}
	}
	check("/mysleep?seconds=2", 504, "504")
	check("/server_error", 500, "500")
	check("/down", 502, "502, 502")
	check("/none", 503, "")
}

// An https upstream verified against a CA from ssl_trusted_certificate;
// one whose certificate that CA did not sign fails verification (502).
func TestHTTPSUpstreamEndToEnd(t *testing.T) {
	trusted := tlsOrigin(t, "trusted.test")
	other := tlsOrigin(t, "other.test")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, trusted.certPEM)
	route := func(uri, addr, host string) string {
		return fmt.Sprintf(`  - uri: %s
    upstream:
      scheme: https
      pass_host: rewrite
      upstream_host: %s
      tls: {verify: true}
      nodes:
        %q: 1
`, uri, host, addr)
	}
	writeFile(t, filepath.Join(dir, "apisix.yaml"), "routes:\n"+route("/trusted", trusted.addr, "trusted.test")+route("/other", other.addr, "other.test")+"#END\n")
	g := startGateway(t, dir, "  ssl:\n    ssl_trusted_certificate: "+caFile+"\n"+
		"deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n")
	if code, body := g.get("/trusted"); code != 200 || body != "tls trusted.test" {
		t.Fatalf("verified upstream: %d %q", code, body)
	}
	if code, _ := g.get("/other"); code != 502 {
		t.Fatalf("unverifiable upstream: %d, want 502", code)
	}
}

type tlsOriginServer struct {
	addr, certPEM string
}

func tlsOrigin(t *testing.T, name string) tlsOriginServer {
	certPEM, keyPEM := testcert.Pair(t, name)
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(listenLoopback(t), &tls.Config{Certificates: []tls.Certificate{cert}})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tls "+r.TLS.ServerName)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return tlsOriginServer{addr: ln.Addr().String(), certPEM: certPEM}
}

// A host-name node ("localhost") is resolved by sluice, off its loops.
func TestHostNameNodeEndToEnd(t *testing.T) {
	o := startOrigin(t)
	if _, err := net.LookupHost("localhost"); err != nil {
		t.Skip("localhost does not resolve here")
	}
	g := startStandalone(t, "", fmt.Sprintf(`routes:
  - uri: /uri
    upstream:
      pass_host: node
      nodes:
        "localhost:%d": 1
`, o.port))
	code, body := g.get("/uri")
	if code != 200 || !strings.Contains(body, fmt.Sprintf("host: localhost:%d\n", o.port)) {
		t.Fatalf("%d %q", code, body)
	}
}

// discovery_type dns on the real binary: SRV records from a DNS server
// named in config.yaml give the nodes; a changed answer reaches traffic.
func TestDNSDiscoveryEndToEnd(t *testing.T) {
	a, b := startOrigin(t), startOrigin(t)
	dns := dnstest.Start(t)
	dns.SetAddrs("origin.svc.test", "127.0.0.1")
	dns.SetSRV("api.svc.test", dnstest.SRV{Weight: 1, Port: uint16(a.port), Target: "origin.svc.test"})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "apisix.yaml"), `routes:
  - uri: /server_port
    upstream:
      discovery_type: dns
      service_name: api.svc.test
#END
`)
	g := startGateway(t, dir, "  dns_resolver_valid: 1\n"+
		"deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n"+
		"discovery:\n  dns:\n    servers: [\""+dns.Addr+"\"]\n")
	if code, body := g.get("/server_port"); code != 200 || body != strconv.Itoa(a.port) {
		t.Fatalf("%d %q", code, body)
	}
	dns.SetSRV("api.svc.test", dnstest.SRV{Weight: 1, Port: uint16(b.port), Target: "origin.svc.test"})
	g.waitServes("/server_port", 200, strconv.Itoa(b.port))
}
