package engine

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/sluicegw/sluice/internal/testcert"
)

// fixedUpstream answers every request on a connection with the same small
// response, allocation-free, so a process-wide allocation count measures
// the gateway alone.
func fixedUpstream(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16<<10)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					// Requests have no body here: one per head.
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTripper sends one fixed request and reads one response of a known
// length, without allocating.
type roundTripper struct {
	c       net.Conn
	req     []byte
	buf     []byte
	respLen int
}

func newRoundTripper(tb testing.TB, addr string) *roundTripper {
	return newRoundTripperFor(tb, addr, "GET /hello HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: wrk\r\n\r\n")
}

// newRoundTripperFor is newRoundTripper with a request of the caller's.
// Responses may vary in length (rate-limit headers count down): a response
// ends with the upstream's "hello world\n".
func newRoundTripperFor(tb testing.TB, addr, req string) *roundTripper {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	rt := &roundTripper{c: c, req: []byte(req), buf: make([]byte, 4096)}
	// Learn the response length from the first exchange.
	if _, err := c.Write(rt.req); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for !bytes.HasSuffix(rt.buf[:n], []byte("hello world\n")) {
		m, err := c.Read(rt.buf[n:])
		if err != nil {
			tb.Fatal(err)
		}
		n += m
	}
	rt.respLen = n
	return rt
}

func (rt *roundTripper) do() error {
	if _, err := rt.c.Write(rt.req); err != nil {
		return err
	}
	n := 0
	for n < len(rt.buf) && (n < rt.respLen-8 || !bytes.HasSuffix(rt.buf[:n], helloBody)) {
		m, err := rt.c.Read(rt.buf[n:])
		if err != nil {
			return err
		}
		n += m
	}
	if rt.buf[9] != '2' {
		return fmt.Errorf("unexpected response %q", rt.buf[:n])
	}
	return nil
}

var helloBody = []byte("hello world\n")

// BenchmarkProxy is one full proxied request over loopback: client write,
// parse, route, pooled upstream, response relay. Client and upstream run in
// the same process, so ns/op is not the gateway's cost alone (bench/ has the
// wrk harness for that); allocs/op is the gateway's, since the test peers
// do not allocate.
func BenchmarkProxy(b *testing.B) {
	up := fixedUpstream(b)
	g := startGateway(b, routeTo(up), Options{Loops: 1})
	rt := newRoundTripper(b, g.addr)
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyWeighted is BenchmarkProxy through three weighted nodes
// (roundrobin 3:2:1): the balancer, health and stats wiring on top of the
// single-node path.
func BenchmarkProxyWeighted(b *testing.B) {
	n1, n2, n3 := fixedUpstream(b), fixedUpstream(b), fixedUpstream(b)
	g := startGateway(b, upstreamYAML("", n1, "3", n2, "2", n3, "1"), Options{Loops: 1})
	rt := newRoundTripper(b, g.addr)
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyCHash is BenchmarkProxy through three chash nodes keyed by
// a header the request lacks (remote_addr).
func BenchmarkProxyCHash(b *testing.B) {
	n1, n2, n3 := fixedUpstream(b), fixedUpstream(b), fixedUpstream(b)
	g := startGateway(b, upstreamYAML("      type: chash\n      hash_on: header\n      key: X-User\n", n1, "1", n2, "1", n3, "1"), Options{Loops: 1})
	rt := newRoundTripper(b, g.addr)
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyHTTPS is BenchmarkProxy to an https node over a pooled TLS
// connection: the per-request cost of the on-loop record layer.
func BenchmarkProxyHTTPS(b *testing.B) {
	up := fixedTLSUpstream(b)
	g := startGateway(b, "routes:\n  - uri: /*\n    upstream:\n      scheme: https\n      nodes:\n        \""+up+"\": 1\n", Options{Loops: 1})
	rt := newRoundTripper(b, g.addr)
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}

// fixedTLSUpstream is fixedUpstream behind TLS.
func fixedTLSUpstream(tb testing.TB) string {
	tb.Helper()
	certPEM, keyPEM := testcert.Pair(tb, "bench.test")
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		tb.Fatal(err)
	}
	plain := fixedUpstream(tb)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				o, err := net.Dial("tcp", plain)
				if err != nil {
					return
				}
				defer o.Close()
				go func() { _, _ = io.Copy(o, c) }()
				_, _ = io.Copy(c, o)
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkProxyNewConnection and BenchmarkProxyHTTPSNewConnection retire
// every upstream connection after one request (keepalive_pool.requests 1):
// the per-connection cost, a DialTCP on the loop for plain HTTP, a dialer
// hop and a TLS handshake (resumed from the session cache) for https.
func BenchmarkProxyNewConnection(b *testing.B) {
	up := fixedUpstream(b)
	g := startGateway(b, routeTo(up), Options{Loops: 1, KeepaliveRequests: 1})
	rt := newRoundTripper(b, g.addr)
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProxyHTTPSNewConnection(b *testing.B) {
	up := fixedTLSUpstream(b)
	g := startGateway(b, "routes:\n  - uri: /*\n    upstream:\n      scheme: https\n      nodes:\n        \""+up+"\": 1\n", Options{Loops: 1, KeepaliveRequests: 1})
	rt := newRoundTripper(b, g.addr)
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}
