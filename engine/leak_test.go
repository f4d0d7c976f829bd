package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testport"
)

// chaosUpstream answers by path: /ok keeps the connection, /close answers
// and closes, /cut sends half a body and closes, /chunked streams chunks.
func chaosUpstream(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		head, err := readRequestHead(r)
		if err != nil {
			return
		}
		if strings.Contains(head, "Content-Length: 3") {
			if _, err := io.ReadFull(r, make([]byte, 3)); err != nil {
				return
			}
		}
		switch path := strings.Fields(head)[1]; path {
		case "/close":
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
			return
		case "/cut":
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
			return
		case "/chunked":
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
		default:
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	}
}

// fdTargets lists what the process's file descriptors point at, so a
// leak report can say what leaked.
func fdTargets(t *testing.T) []string {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	var out []string
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil {
			out = append(out, e.Name()+"->"+target)
		}
	}
	return out
}

// newFDs returns the entries of now that were not open at start. An fd
// number reused for something else counts as new.
func newFDs(start, now []string) []string {
	had := make(map[string]bool, len(start))
	for _, f := range start {
		had[f] = true
	}
	var out []string
	for _, f := range now {
		if !had[f] {
			out = append(out, f)
		}
	}
	return out
}

// TestNoLeaksUnderChaos runs 100k requests mixing clean keep-alive traffic
// with clients that vanish mid-request or mid-response, upstreams that close
// or cut responses, and a dead node; then checks that every connection, fd
// and goroutine the gateway created is gone.
func TestNoLeaksUnderChaos(t *testing.T) {
	const total = 100_000
	up := startRawUpstream(t, chaosUpstream)
	dead := testport.Refused(t)
	g := startGateway(t, fmt.Sprintf(`routes:
  - uri: /dead
    upstream:
      nodes:
        %q: 1
  - uri: /*
    upstream:
      nodes:
        %q: 1
`, dead, up.addr), Options{KeepaliveRequests: 100})

	// startGateway returns once every loop runs (Server.Ready), so the
	// loops' pollers and listeners are in this snapshot.
	fdsAtStart := fdTargets(t)
	goroutinesBefore := runtime.NumGoroutine()

	var (
		next    atomic.Int64
		failed  atomic.Int64
		byCase  [50]atomic.Int64
		wg      sync.WaitGroup
		workers = 16
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var r *bufio.Reader
			closeConn := func() {
				if conn != nil {
					_ = conn.Close()
					conn = nil
				}
			}
			defer closeConn()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				if conn == nil {
					c, err := net.Dial("tcp", g.addr)
					if err != nil {
						failed.Add(1)
						continue
					}
					conn, r = c, bufio.NewReader(c)
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				switch i % 50 {
				case 1: // client vanishes after sending a request
					_, _ = io.WriteString(conn, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
					closeConn()
					continue
				case 2: // client vanishes with half a head sent
					_, _ = io.WriteString(conn, "GET /ok HTTP/1.1\r\nHo")
					closeConn()
					continue
				case 3: // client vanishes with half a body sent
					_, _ = io.WriteString(conn, "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nx")
					closeConn()
					continue
				}
				path, want := "/ok", 200
				switch i % 50 {
				case 4:
					path = "/close"
				case 5:
					path = "/cut"
				case 6:
					path, want = "/dead", 502
				case 7:
					path = "/chunked"
				}
				if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path); err != nil {
					failed.Add(1)
					closeConn()
					continue
				}
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					failed.Add(1)
					byCase[i%50].Add(1)
					if byCase[i%50].Load() == 1 {
						t.Logf("case %d (%s): %v", i%50, path, err)
					}
					closeConn()
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				switch {
				case path == "/cut":
					// The gateway must cut the client off too.
					if err == nil {
						failed.Add(1)
					}
					closeConn()
				case err != nil || resp.StatusCode != want:
					failed.Add(1)
					byCase[i%50].Add(1)
					if byCase[i%50].Load() == 1 {
						t.Logf("case %d (%s): status %d err %v", i%50, path, resp.StatusCode, err)
					}
					closeConn()
				case resp.Close:
					closeConn()
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests went wrong", n, total)
	}

	stats := g.srv.Stats()
	waitFor(t, "client connections to close", func() bool { return stats.ClientsOpen.Load() == 0 })
	// Pooled upstream connections stay open by design; closing the origin
	// makes them close too.
	_ = up.ln.Close()
	up.closeAll()
	waitFor(t, "upstream connections to close", func() bool { return stats.UpstreamsOpen.Load() == 0 })
	// Compare sets, not counts: the upstream listener closed above must not
	// hide an fd the gateway kept.
	deadline := time.Now().Add(10 * time.Second)
	for leaked := newFDs(fdsAtStart, fdTargets(t)); len(leaked) > 0; leaked = newFDs(fdsAtStart, fdTargets(t)) {
		if time.Now().After(deadline) {
			t.Fatalf("file descriptors opened during the test are still open: %v (at start %v)", leaked, fdsAtStart)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "goroutines to return", func() bool { return runtime.NumGoroutine() <= goroutinesBefore })
}
