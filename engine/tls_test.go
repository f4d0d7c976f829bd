package engine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicegw/sluice/internal/testcert"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// tlsUpstream is an https origin on loopback for server name name; it
// answers with the server name and client certificate it saw.
type tlsUpstream struct {
	addr    string
	certPEM string
	conns   atomic.Int64
}

func startTLSUpstream(t *testing.T, name string, clientCAs *x509.CertPool) *tlsUpstream {
	t.Helper()
	certPEM, keyPEM := testcert.Pair(t, name)
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	u := &tlsUpstream{certPEM: certPEM}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := "none"
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "sni=%s host=%s client=%s", r.TLS.ServerName, r.Host, client)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientCAs != nil {
		srv.TLS.ClientCAs = clientCAs
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u.addr = srv.Listener.Addr().String()
	return u
}

func poolOf(t *testing.T, pems ...string) *x509.CertPool {
	p := x509.NewCertPool()
	for _, pem := range pems {
		if !p.AppendCertsFromPEM([]byte(pem)) {
			t.Fatal("bad PEM")
		}
	}
	return p
}

func httpsRoute(addr, tlsConf string) string {
	return fmt.Sprintf("routes:\n  - uri: /*\n    upstream:\n      scheme: https\n      pass_host: rewrite\n      upstream_host: upstream.test\n%s      nodes:\n        %q: 1\n", tlsConf, addr)
}

func TestHTTPSUpstream(t *testing.T) {
	up := startTLSUpstream(t, "upstream.test", nil)
	trust := func(b *cfgsync.Builder) { b.UpstreamCAs = poolOf(t, up.certPEM) }
	t.Run("verified", func(t *testing.T) {
		g := startGateway(t, httpsRoute(up.addr, "      tls: {verify: true}\n"), Options{Loops: 1}, trust)
		before := up.conns.Load()
		c := g.dial()
		for i := range 5 {
			c.send("GET / HTTP/1.1\r\nHost: client.example\r\n\r\n")
			resp, body := c.response("GET")
			if resp.StatusCode != 200 || body != "sni=upstream.test host=upstream.test client=none" {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
		}
		if n := up.conns.Load() - before; n != 1 {
			t.Fatalf("%d TLS connections for 5 requests, want 1 kept alive", n)
		}
	})
	t.Run("unknown-CA-fails-verification", func(t *testing.T) {
		g := startGateway(t, httpsRoute(up.addr, "      tls: {verify: true}\n"), Options{})
		if status, _, ups := g.fetch("GET", "/"); status != 502 || ups != "502" {
			t.Fatalf("%d %q, want 502", status, ups)
		}
	})
	t.Run("verify-off", func(t *testing.T) {
		g := startGateway(t, httpsRoute(up.addr, ""), Options{})
		if status, body, _ := g.fetch("GET", "/"); status != 200 || !strings.HasPrefix(body, "sni=upstream.test") {
			t.Fatalf("%d %q", status, body)
		}
	})
	t.Run("large-bodies", func(t *testing.T) {
		big := startTLSUpstreamEcho(t)
		g := startGateway(t, httpsRoute(big.addr, ""), Options{Loops: 1})
		payload := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB: many records each way
		c := g.dial()
		for range 2 {
			c.send(fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
			resp, body := c.response("POST")
			if resp.StatusCode != 200 || body != payload {
				t.Fatalf("%d, %d bytes back of %d", resp.StatusCode, len(body), len(payload))
			}
		}
	})
}

func startTLSUpstreamEcho(t *testing.T) *tlsUpstream {
	certPEM, keyPEM := testcert.Pair(t, "upstream.test")
	cert, _ := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // net/http cannot read a body after it started answering
		_, _ = w.Write(b)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &tlsUpstream{addr: srv.Listener.Addr().String(), certPEM: certPEM}
}

func TestHTTPSUpstreamClientCertificate(t *testing.T) {
	clientCert, clientKey := testcert.Pair(t, "sluice-client")
	up := startTLSUpstream(t, "upstream.test", poolOf(t, clientCert))
	indent := func(pem string) string {
		return "|\n          " + strings.ReplaceAll(strings.TrimSpace(pem), "\n", "\n          ")
	}
	withCert := fmt.Sprintf("      tls:\n        client_cert: %s\n        client_key: %s\n", indent(clientCert), indent(clientKey))
	g := startGateway(t, httpsRoute(up.addr, withCert), Options{})
	if status, body, _ := g.fetch("GET", "/"); status != 200 || !strings.HasSuffix(body, "client=sluice-client") {
		t.Fatalf("%d %q", status, body)
	}
	g2 := startGateway(t, httpsRoute(up.addr, ""), Options{})
	if status, _, _ := g2.fetch("GET", "/"); status != 502 {
		t.Fatalf("without a client certificate: %d, want 502", status)
	}
}
