package engine

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testport"
)

// echoHandler reports what the upstream received: request line, then the
// headers sorted, then the body.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%s %s %s\nhost=%s\n", r.Method, r.RequestURI, r.Proto, r.Host)
	for _, k := range names {
		fmt.Fprintf(w, "%s=%s\n", k, strings.Join(r.Header[k], "|"))
	}
	if len(r.TransferEncoding) > 0 {
		fmt.Fprintf(w, "te=%v\n", r.TransferEncoding)
	}
	for k, v := range r.Trailer {
		fmt.Fprintf(w, "trailer %s=%s\n", k, strings.Join(v, "|"))
	}
	fmt.Fprintf(w, "body=%q\n", body)
}

func TestProxiesAndRewritesHeaders(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	g := startGateway(t, routeTo(up.addr), Options{ServerHeader: "sluice/test"})
	c := g.dial()
	c.send("GET /a/b?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\n" +
		"X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=x\r\n" +
		"Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n" +
		"Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Kept: yes\r\n\r\n")
	resp, body := c.response("GET")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		"GET /a/b?x=1 HTTP/1.1\n",
		"host=Example.COM:8080\n", // passed as received
		"X-Forwarded-For=203.0.113.9, 127.0.0.1\n",
		"X-Forwarded-Proto=http\n", // untrusted peer: overwritten
		"X-Forwarded-Host=Example.COM:8080\n",
		"X-Forwarded-Port=8080\n",
		"X-Real-Ip=127.0.0.1\n",
		"X-Kept=yes\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("upstream did not see %q in:\n%s", want, body)
		}
	}
	for _, banned := range []string{"X-Hop", "Keep-Alive", "Te=", "Proxy-Connection", "Upgrade", "Forwarded=", "6.6.6.6"} {
		if strings.Contains(body, banned) {
			t.Errorf("hop-by-hop or replaced field %q reached the upstream:\n%s", banned, body)
		}
	}
	if got := resp.Header.Get("Server"); got != "sluice/test" {
		t.Errorf("Server %q", got)
	}
}

func TestTrustedPeerKeepsForwardedFields(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	g := startGateway(t, routeTo(up.addr), Options{TrustedAddresses: mustPrefixes("127.0.0.0/8")})
	c := g.dial()
	c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n\r\n")
	_, body := c.response("GET")
	if !strings.Contains(body, "X-Forwarded-Proto=https\n") || !strings.Contains(body, "X-Forwarded-Port=443\n") {
		t.Fatalf("trusted forwarded fields not kept:\n%s", body)
	}
}

// With trusted_addresses set, a peer outside them loses its X-Forwarded-For
// (the upstream sees only the connection's address); a trusted peer's
// chain is extended. Without the setting every chain is kept (above).
func TestUntrustedPeerLosesItsForwardedFor(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	for _, tc := range []struct {
		trusted, want string
	}{
		{"10.0.0.0/8", "X-Forwarded-For=127.0.0.1\n"},
		{"127.0.0.0/8", "X-Forwarded-For=203.0.113.9, 127.0.0.1\n"},
	} {
		g := startGateway(t, routeTo(up.addr), Options{TrustedAddresses: mustPrefixes(tc.trusted)})
		c := g.dial()
		c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n")
		if _, body := c.response("GET"); !strings.Contains(body, tc.want) {
			t.Errorf("trusted %s: upstream did not see %q in:\n%s", tc.trusted, tc.want, body)
		}
	}
}

func TestRouteNotFound(t *testing.T) {
	g := startGateway(t, "routes:\n  - uri: /only\n    upstream:\n      nodes:\n        \"127.0.0.1:1\": 1\n", Options{})
	c := g.dial()
	c.send("GET /other HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := c.response("GET")
	if resp.StatusCode != 404 || body != "{\"error_msg\":\"404 Route Not Found\"}\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// The connection stays usable.
	c.send("HEAD /other HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body = c.response("HEAD")
	if resp.StatusCode != 404 || body != "" || resp.ContentLength != int64(len("{\"error_msg\":\"404 Route Not Found\"}\n")) {
		t.Fatalf("HEAD got %d %q cl=%d", resp.StatusCode, body, resp.ContentLength)
	}
}

func TestPassHostNodeAndRewrite(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	g := startGateway(t, fmt.Sprintf(`routes:
  - uri: /node
    upstream:
      pass_host: node
      nodes:
        %q: 1
  - uri: /rewrite
    upstream:
      pass_host: rewrite
      upstream_host: internal.example
      nodes:
        %q: 1
`, up.addr, up.addr), Options{})
	c := g.dial()
	c.send("GET /node HTTP/1.1\r\nHost: public\r\n\r\n")
	if _, body := c.response("GET"); !strings.Contains(body, "host="+up.addr+"\n") {
		t.Errorf("pass_host node:\n%s", body)
	}
	c.send("GET /rewrite HTTP/1.1\r\nHost: public\r\n\r\n")
	if _, body := c.response("GET"); !strings.Contains(body, "host=internal.example\n") {
		t.Errorf("pass_host rewrite:\n%s", body)
	}
}

func TestRequestBodies(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	g := startGateway(t, routeTo(up.addr), Options{})
	t.Run("content-length", func(t *testing.T) {
		c := g.dial()
		c.send("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
		_, body := c.response("POST")
		if !strings.Contains(body, `body="hello"`) {
			t.Fatal(body)
		}
	})
	t.Run("chunked-with-trailer", func(t *testing.T) {
		c := g.dial()
		c.send("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
			"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n")
		_, body := c.response("POST")
		if !strings.Contains(body, `body="abcde"`) || !strings.Contains(body, "te=[chunked]") ||
			!strings.Contains(body, "trailer X-Sum=5") {
			t.Fatal(body)
		}
	})
	t.Run("expect-100-continue", func(t *testing.T) {
		c := g.dial()
		c.send("PUT /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := c.r.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("interim %q %v", line, err)
		}
		if blank, _ := c.r.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("interim head not terminated: %q", blank)
		}
		c.send("data")
		resp, body := c.response("PUT")
		if resp.StatusCode != 200 || !strings.Contains(body, `body="data"`) || strings.Contains(body, "Expect") {
			t.Fatal(body)
		}
	})
	t.Run("body-split-across-writes", func(t *testing.T) {
		c := g.dial()
		c.send("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234")
		time.Sleep(20 * time.Millisecond)
		c.send("56789")
		_, body := c.response("POST")
		if !strings.Contains(body, `body="0123456789"`) {
			t.Fatal(body)
		}
	})
	t.Run("large", func(t *testing.T) {
		const size = 8 << 20
		payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
		sum := sha256.Sum256(payload)
		hashUp := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		}))
		g2 := startGateway(t, routeTo(hashUp.addr), Options{})
		c := g2.dial()
		go func() {
			_, _ = fmt.Fprintf(c.c, "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", size)
			_, _ = c.c.Write(payload)
		}()
		_, body := c.response("POST")
		if want := fmt.Sprintf("%d %x", size, sum); body != want {
			t.Fatalf("upstream got %s, want %s", body, want)
		}
	})
}

func TestResponseFramings(t *testing.T) {
	up := startRawUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			head, err := readRequestHead(r)
			if err != nil {
				return
			}
			path := strings.Fields(head)[1]
			switch path {
			case "/chunked":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: T\r\n\r\n"+
					"5\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n")
			case "/close":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nuntil the end")
				return
			case "/head":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n")
			case "/204":
				_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
			case "/304":
				_, _ = io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n")
			case "/103":
				_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"+
					"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case "/bad-cl":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok")
				return
			case "/obs-fold":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n")
				return
			case "/truncated":
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
				return
			}
		}
	})
	g := startGateway(t, routeTo(up.addr), Options{})

	t.Run("chunked-passes-through", func(t *testing.T) {
		c := g.dial()
		c.send("GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.response("GET")
		if body != "hello world" || resp.TransferEncoding[0] != "chunked" || resp.Trailer.Get("T") != "v" {
			t.Fatalf("%q %v %v", body, resp.TransferEncoding, resp.Trailer)
		}
	})
	t.Run("chunked-to-http10-is-decoded", func(t *testing.T) {
		c := g.dial()
		c.send("GET /chunked HTTP/1.0\r\n\r\n")
		raw, _ := io.ReadAll(c.r)
		if !bytes.HasSuffix(raw, []byte("\r\n\r\nhello world")) || bytes.Contains(raw, []byte("chunked")) ||
			!bytes.Contains(raw, []byte("Connection: close")) {
			t.Fatalf("%q", raw)
		}
	})
	t.Run("close-delimited", func(t *testing.T) {
		c := g.dial()
		c.send("GET /close HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.response("GET")
		if body != "until the end" || !resp.Close {
			t.Fatalf("%q close=%v", body, resp.Close)
		}
		c.expectClosed()
	})
	t.Run("head-keeps-content-length", func(t *testing.T) {
		c := g.dial()
		c.send("HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.response("HEAD")
		if resp.ContentLength != 42 || body != "" {
			t.Fatalf("cl=%d body=%q", resp.ContentLength, body)
		}
		c.send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\n") // same connection still in step
		if resp, _ := c.response("GET"); resp.StatusCode != 204 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		c.send("GET /304 HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, _ := c.response("GET"); resp.StatusCode != 304 || resp.Header.Get("ETag") != "x" {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("early-hints-relayed", func(t *testing.T) {
		c := g.dial()
		c.send("GET /103 HTTP/1.1\r\nHost: a\r\n\r\n")
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, _ := c.r.ReadString('\n'); line != "HTTP/1.1 103 Early Hints\r\n" {
			t.Fatalf("first line %q", line)
		}
		if _, err := readRequestHead(c.r); err != nil { // rest of the interim head
			t.Fatal(err)
		}
		if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	for _, path := range []string{"/bad-cl", "/obs-fold"} {
		t.Run("bad-upstream"+path, func(t *testing.T) {
			c := g.dial()
			c.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp, _ := c.response("GET"); resp.StatusCode != 502 {
				t.Fatalf("status %d, want 502", resp.StatusCode)
			}
		})
	}
	t.Run("truncated-response-closes-client", func(t *testing.T) {
		c := g.dial()
		c.send("GET /truncated HTTP/1.1\r\nHost: a\r\n\r\n")
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != io.ErrUnexpectedEOF {
			t.Fatalf("want a truncated body, got %v", err)
		}
	})
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Fprint(w, r.URL.Path)
	}))
	g := startGateway(t, routeTo(up.addr), Options{})
	c := g.dial()
	c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxGET /three HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"/slow", "/two", "/three"} {
		if _, body := c.response("GET"); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

// Malformed requests are answered by the gateway, never reach the upstream,
// and close the connection.
func TestMalformedRequestsNeverReachUpstream(t *testing.T) {
	up := startRawUpstream(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	g := startGateway(t, routeTo(up.addr), Options{})
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"cl-and-te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"te-gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"two-hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n y\r\n\r\n", 400},
		{"bare-lf", "GET / HTTP/1.1\nHost: a\n\n", 400},
		{"bad-chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
		{"long-uri", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"big-head", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 40000) + "\r\n\r\n", 431},
		{"http2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
		{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405},
		{"dot-dot-above-root", "GET /../etc HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := g.dial()
			c.send(tc.req)
			resp, _ := c.response("GET")
			if resp.StatusCode != tc.status || !resp.Close {
				t.Fatalf("status %d close=%v, want %d and close", resp.StatusCode, resp.Close, tc.status)
			}
			c.expectClosed()
		})
	}
	if n := up.accepted.Load(); n != 1 {
		// Only the bad-chunk request (valid head) may open a connection:
		// its body fails while streaming.
		t.Errorf("upstream saw %d connections, want at most the bad-chunk one", n)
	}
}

func TestKeepaliveReusesUpstreamConnection(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	g := startGateway(t, routeTo(up.addr), Options{Loops: 1})
	c := g.dial()
	for i := 0; i < 50; i++ {
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := c.response("GET"); body != "ok" {
			t.Fatal(body)
		}
	}
	if n := up.conns.Load(); n != 1 {
		t.Fatalf("50 sequential requests used %d upstream connections, want 1", n)
	}
}

func TestKeepaliveRequestsLimitRetiresConnections(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	g := startGateway(t, routeTo(up.addr), Options{Loops: 1, KeepaliveRequests: 10})
	c := g.dial()
	for i := 0; i < 30; i++ {
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		c.response("GET")
	}
	if n := up.conns.Load(); n != 3 {
		t.Fatalf("30 requests at 10 per connection used %d connections, want 3", n)
	}
}

// A pooled connection that the upstream closes as the next request arrives
// (the keep-alive race) is retried once for an idempotent request, invisibly
// to the client. The upstream here answers the first request on each
// connection and closes on the second without answering.
func TestStalePooledConnectionIsRetried(t *testing.T) {
	up := startRawUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		if _, err := readRequestHead(r); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_, _ = readRequestHead(r) // the reused connection's request: dropped
	})
	g := startGateway(t, routeTo(up.addr), Options{Loops: 1})
	c := g.dial()
	for i := 0; i < 3; i++ {
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if n := up.accepted.Load(); n != 3 {
		t.Fatalf("upstream accepted %d connections, want 3", n)
	}
	t.Run("non-idempotent-is-not-retried", func(t *testing.T) {
		c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
		if resp, _ := c.response("POST"); resp.StatusCode != 502 {
			t.Fatalf("POST on a stale connection: %d, want 502", resp.StatusCode)
		}
	})
}

func TestUpstreamFailures(t *testing.T) {
	dead := testport.Refused(t)
	t.Run("refused-502", func(t *testing.T) {
		g := startGateway(t, routeTo(dead), Options{})
		c := g.dial()
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.response("GET")
		if resp.StatusCode != 502 || !strings.Contains(body, "502 Bad Gateway") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n") // connection still usable
		if resp, _ := c.response("GET"); resp.StatusCode != 502 {
			t.Fatalf("second request: %d", resp.StatusCode)
		}
	})
	t.Run("next-node-after-refusal", func(t *testing.T) {
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "alive") }))
		g := startGateway(t, routeTo(dead, up.addr), Options{})
		for i := 0; i < 6; i++ {
			c := g.dial()
			c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "alive" {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
		}
	})
	t.Run("read-timeout-504", func(t *testing.T) {
		up := startRawUpstream(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		g := startGateway(t, `routes:
  - uri: /*
    timeout: {connect: 1, send: 1, read: 0.3}
    upstream:
      nodes:
        "`+up.addr+`": 1
`, Options{})
		c := g.dial()
		start := time.Now()
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, _ := c.response("GET")
		if resp.StatusCode != 504 {
			t.Fatalf("status %d, want 504", resp.StatusCode)
		}
		if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
			t.Fatalf("504 after %v, want about the 0.3 s read timeout", took)
		}
	})
	t.Run("upstream-closes-before-answering-502", func(t *testing.T) {
		up := startRawUpstream(t, func(c net.Conn) {
			_, _ = readRequestHead(bufio.NewReader(c))
		})
		g := startGateway(t, routeTo(up.addr), Options{})
		c := g.dial()
		c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
		if resp, _ := c.response("POST"); resp.StatusCode != 502 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestClientTimeouts(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	g := startGateway(t, routeTo(up.addr), Options{
		ClientHeaderTimeout: 300 * time.Millisecond,
		KeepaliveTimeout:    300 * time.Millisecond,
	})
	t.Run("slowloris-header", func(t *testing.T) {
		c := g.dial()
		c.send("GET / HTTP/1.1\r\nHost: a\r\n") // never finished
		start := time.Now()
		c.expectClosed()
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("closed after %v", took)
		}
	})
	t.Run("idle-keepalive", func(t *testing.T) {
		c := g.dial()
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		c.response("GET")
		start := time.Now()
		c.expectClosed()
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("closed after %v", took)
		}
	})
}

func TestHTTP10Client(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(echoHandler))
	g := startGateway(t, routeTo(up.addr), Options{})
	c := g.dial()
	c.send("GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body := c.response("GET")
	if resp.StatusCode != 200 || resp.Close || !strings.Contains(body, "host="+up.addr) {
		t.Fatalf("%d close=%v\n%s", resp.StatusCode, resp.Close, body)
	}
	c.send("GET /ten HTTP/1.0\r\n\r\n")
	if resp, _ = c.response("GET"); !resp.Close {
		t.Fatal("HTTP/1.0 without keep-alive must close")
	}
	c.expectClosed()
}

// Responses the gateway makes itself consume exactly the request they
// answer: pipelined requests behind them are served, and nothing is answered
// twice.
func TestGeneratedRepliesConsumeTheirRequest(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.URL.Path) }))
	dead := testport.Refused(t)
	g := startGateway(t, fmt.Sprintf(`routes:
  - uri: /live
    upstream:
      nodes:
        %q: 1
  - uri: /dead
    upstream:
      nodes:
        %q: 1
`, up.addr, dead), Options{})
	for _, tc := range []struct {
		name, first string
		status      int
	}{
		{"404", "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n", 404},
		{"404-with-body", "POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 404},
		{"404-chunked-body", "POST /nowhere HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 404},
		{"502-refused", "GET /dead HTTP/1.1\r\nHost: a\r\n\r\n", 502},
		{"502-refused-with-body", "PUT /dead HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := g.dial()
			c.send(tc.first + "GET /live HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp, _ := c.response("GET"); resp.StatusCode != tc.status {
				t.Fatalf("first: %d, want %d", resp.StatusCode, tc.status)
			}
			if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "/live" {
				t.Fatalf("second: %d %q", resp.StatusCode, body)
			}
			c.expectQuiet()
		})
	}
	t.Run("rest-of-body-dropped", func(t *testing.T) {
		// The body is still coming when the 404 goes out: its rest is
		// read and dropped, never parsed as a request.
		c := g.dial()
		live := "GET /live HTTP/1.1\r\nHost: a\r\n\r\n"
		c.send(fmt.Sprintf("POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(live), live[:5]))
		if resp, _ := c.response("POST"); resp.StatusCode != 404 || resp.Close {
			t.Fatalf("%d close=%v", resp.StatusCode, resp.Close)
		}
		c.send(live[5:] + live)
		if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "/live" {
			t.Fatalf("second: %d %q", resp.StatusCode, body)
		}
		c.expectQuiet()
	})
	t.Run("expect-continue-closes", func(t *testing.T) {
		// The client waits for a 100 Continue that a final answer replaces:
		// whatever it sends next is ambiguous, so the connection closes.
		c := g.dial()
		c.send("POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
		if resp, _ := c.response("POST"); resp.StatusCode != 404 || !resp.Close {
			t.Fatalf("%d close=%v", resp.StatusCode, resp.Close)
		}
		c.expectClosed()
	})
}
