package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// earlyUpstream answers every request as soon as its head arrives, before
// reading its body (an upstream's early 401 or 413), then reads the body
// by its framing and records the request line. Anything the gateway sends
// as a request is recorded; body bytes are not.
type earlyUpstream struct {
	*rawUpstream
	mu    sync.Mutex // guards lines
	lines []string
}

func startEarlyUpstream(t testing.TB) *earlyUpstream {
	e := &earlyUpstream{}
	e.rawUpstream = startRawUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			e.mu.Lock()
			e.lines = append(e.lines, req.Method+" "+req.RequestURI)
			e.mu.Unlock()
			status := 200
			if req.Method == http.MethodPost {
				status = 401
			}
			body := req.RequestURI
			if _, err := fmt.Fprintf(c, "HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s", status, len(body), body); err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
		}
	})
	return e
}

func (e *earlyUpstream) seen() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.lines, ", ")
}

func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"

// An early answer must not let the rest of the request body be read as a
// request: the gateway reads and drops it (or closes), never routes it.
func TestEarlyResponseNeverRoutesTheBody(t *testing.T) {
	up := startEarlyUpstream(t)
	g := startGateway(t, routeTo(up.addr), Options{})
	for _, tc := range []struct {
		name  string
		head  string // sent first; the upstream answers on it
		early string // sent with the head (part of the body)
		rest  string // sent after the response arrived
	}{
		{"content-length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 35\r\n\r\n", "", smuggled},
		{"content-length-split", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 35\r\n\r\n", smuggled[:10], smuggled[10:]},
		{"chunked", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "", chunk(smuggled) + "0\r\n\r\n"},
		{"chunked-split", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", chunk(smuggled[:5]), chunk(smuggled[5:]) + "0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.seen()
			c := g.dial()
			c.send(tc.head + tc.early)
			resp, body := c.response("POST")
			if resp.StatusCode != 401 || body != "/x" || resp.Close {
				t.Fatalf("early answer: %d %q close=%v", resp.StatusCode, body, resp.Close)
			}
			// The rest of the body, with a pipelined request right behind it.
			c.send(tc.rest + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "/next" {
				t.Fatalf("next request: %d %q", resp.StatusCode, body)
			}
			c.expectQuiet()
			if got := strings.TrimPrefix(strings.TrimPrefix(up.seen(), before), ", "); got != "POST /x, GET /next" {
				t.Fatalf("upstream saw %q, want the POST and the next request only", got)
			}
		})
	}
}

// A body too large to drop closes the connection, and the response head
// says so; a body that never comes closes it after DiscardTimeout.
func TestEarlyResponseClosesWhenTheBodyCannotBeDropped(t *testing.T) {
	up := startEarlyUpstream(t)
	g := startGateway(t, routeTo(up.addr), Options{DiscardLimit: 1000, DiscardTimeout: 300 * time.Millisecond, Tick: 20 * time.Millisecond})
	t.Run("declared-too-large", func(t *testing.T) {
		c := g.dial()
		c.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
		if resp, _ := c.response("POST"); resp.StatusCode != 401 || !resp.Close {
			t.Fatalf("%d close=%v", resp.StatusCode, resp.Close)
		}
		c.send(smuggled) // read and dropped while the connection lingers
		c.expectClosed()
	})
	t.Run("chunked-too-long", func(t *testing.T) {
		c := g.dial()
		c.send("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
		if resp, _ := c.response("POST"); resp.StatusCode != 401 {
			t.Fatalf("%d", resp.StatusCode)
		}
		c.send(chunk(strings.Repeat("x", 2000)) + smuggled)
		c.expectClosed()
	})
	t.Run("bad-chunk", func(t *testing.T) {
		c := g.dial()
		c.send("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
		if resp, _ := c.response("POST"); resp.StatusCode != 401 {
			t.Fatalf("%d", resp.StatusCode)
		}
		c.send("zz\r\n" + smuggled)
		c.expectClosed()
	})
	t.Run("never-sent", func(t *testing.T) {
		c := g.dial()
		c.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n")
		if resp, _ := c.response("POST"); resp.StatusCode != 401 || resp.Close {
			t.Fatalf("%d close=%v", resp.StatusCode, resp.Close)
		}
		c.expectClosed() // after DiscardTimeout
	})
	if strings.Contains(up.seen(), "smuggled") {
		t.Fatalf("upstream saw %q", up.seen())
	}
}

// FuzzBodyNeverRouted: whatever a request body holds and however it is
// split, the only requests that reach the upstream are the ones the client
// framed as requests. The gateway may keep the connection (then the canary
// request behind the body is served) or close it; it may never route body
// bytes.
func FuzzBodyNeverRouted(f *testing.F) {
	for _, s := range []string{
		smuggled,
		smuggled + smuggled,
		"GET /smuggled HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"0\r\n\r\n" + smuggled,
		"\r\n\r\n" + smuggled,
		"POST /smuggled HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"",
	} {
		f.Add([]byte(s), uint16(7), false)
		f.Add([]byte(s), uint16(0), true)
	}
	up := startEarlyUpstream(f)
	g := startGateway(f, routeTo(up.addr), Options{})
	f.Fuzz(func(t *testing.T, body []byte, split uint16, chunked bool) {
		if len(body) > 4096 {
			body = body[:4096]
		}
		var head, wire string
		if chunked {
			head = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
			if len(body) > 0 {
				wire = chunk(string(body))
			}
			wire += "0\r\n\r\n"
		} else {
			head = fmt.Sprintf("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", len(body))
			wire = string(body)
		}
		at := int(split) % (len(wire) + 1)
		c, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if _, err := io.WriteString(c, head+wire[:at]); err != nil {
			t.Fatal(err)
		}
		if resp, err := http.ReadResponse(r, &http.Request{Method: "POST"}); err != nil || resp.StatusCode != 401 {
			t.Fatalf("first response: %v %v", resp, err)
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		canary := "GET /canary HTTP/1.1\r\nHost: a\r\n\r\n"
		_, _ = io.WriteString(c, wire[at:]+canary)
		if resp, err := http.ReadResponse(r, &http.Request{Method: "GET"}); err == nil {
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "/canary" {
				t.Fatalf("second response answers %q, want the canary", b)
			}
		}
		// Closing instead is allowed; routing body bytes is not.
		for _, line := range strings.Split(up.seen(), ", ") {
			if line != "POST /x" && line != "GET /canary" {
				t.Fatalf("body bytes reached the upstream as a request: %q (body %q)", line, body)
			}
		}
	})
}
