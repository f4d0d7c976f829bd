package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/internal/testport"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// namedUpstream answers every request with its name, after delay.
func namedUpstream(t *testing.T, name string, delay time.Duration) *upstreamServer {
	t.Helper()
	return startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if delay > 0 {
			time.Sleep(delay)
		}
		_, _ = io.WriteString(w, name)
	}))
}

// fetch sends one request on a new connection (so requests spread over
// the loops) and returns the status, body and X-APISIX-Upstream-Status.
func (g *gateway) fetch(method, path string, hdr ...string) (int, string, string) {
	g.t.Helper()
	req, err := http.NewRequest(method, "http://"+g.addr+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-APISIX-Upstream-Status")
}

// upstreamYAML is one catch-all route to an upstream with the given nodes
// ("addr": weight) and extra upstream fields (YAML lines, 6-space indent).
func upstreamYAML(extra string, nodes ...string) string {
	var b strings.Builder
	b.WriteString("routes:\n  - id: all\n    uri: /*\n    upstream:\n")
	b.WriteString(extra)
	b.WriteString("      nodes:\n")
	for i := 0; i+1 < len(nodes); i += 2 {
		fmt.Fprintf(&b, "        %q: %s\n", nodes[i], nodes[i+1])
	}
	return b.String()
}

func TestRoundRobinWeights(t *testing.T) {
	a, b, c := namedUpstream(t, "a", 0), namedUpstream(t, "b", 0), namedUpstream(t, "c", 0)
	g := startGateway(t, upstreamYAML("", a.addr, "3", b.addr, "2", c.addr, "1"), Options{Loops: 1})
	got := map[string]int{}
	for range 12 {
		_, body, _ := g.fetch("GET", "/")
		got[body]++
	}
	if got["a"] != 6 || got["b"] != 4 || got["c"] != 2 {
		t.Fatalf("weights 3:2:1 over 12 requests gave %v, want a:6 b:4 c:2", got)
	}
}

// chash sends a key to the same node from every loop and connection, and
// adding a node moves only the keys the new node takes.
func TestCHashStickyAndStable(t *testing.T) {
	var addrs []string
	for i := range 4 {
		addrs = append(addrs, namedUpstream(t, fmt.Sprintf("n%d", i), 0).addr)
	}
	conf := func(n int) string {
		var nodes []string
		for _, a := range addrs[:n] {
			nodes = append(nodes, a, "1")
		}
		return upstreamYAML("      type: chash\n      hash_on: header\n      key: X-User\n", nodes...)
	}
	g := startGateway(t, conf(3), Options{Loops: 2})
	const keys = 120
	where := func() map[string]string {
		m := map[string]string{}
		for k := range keys {
			key := fmt.Sprintf("user-%d", k)
			_, first, _ := g.fetch("GET", "/", "X-User", key)
			for range 3 { // new connections: other loops
				if _, again, _ := g.fetch("GET", "/", "X-User", key); again != first {
					t.Fatalf("key %s went to %s, then %s", key, first, again)
				}
			}
			m[key] = first
		}
		return m
	}
	before := where()
	g.load(conf(4))
	after := where()
	moved := 0
	for k, n := range before {
		if after[k] != n {
			moved++
			if after[k] != "n3" {
				t.Errorf("key %s moved from %s to %s, not to the added node", k, n, after[k])
			}
		}
	}
	// About a quarter of the keys should move to the fourth node.
	if moved < keys/8 || moved > keys/2 {
		t.Fatalf("%d of %d keys moved when a fourth node was added", moved, keys)
	}
	t.Logf("%d of %d keys moved to the added node", moved, keys)
}

func TestCHashKeySources(t *testing.T) {
	a, b := namedUpstream(t, "a", 0), namedUpstream(t, "b", 0)
	for _, tc := range []struct {
		name, extra string
		hdr         []string
	}{
		{"vars-arg", "      hash_on: vars\n      key: arg_user\n", nil},
		{"cookie", "      hash_on: cookie\n      key: sid\n", []string{"Cookie", "sid=%s"}},
		{"vars-combinations", "      hash_on: vars_combinations\n      key: $http_x_a-$arg_user\n", []string{"X-A", "%s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, upstreamYAML("      type: chash\n"+tc.extra, a.addr, "1", b.addr, "1"), Options{Loops: 2})
			seen := map[string]bool{}
			for k := range 40 {
				key := fmt.Sprint(k)
				var hdr []string
				for i := 0; i+1 < len(tc.hdr); i += 2 {
					hdr = append(hdr, tc.hdr[i], fmt.Sprintf(tc.hdr[i+1], key))
				}
				_, first, _ := g.fetch("GET", "/?user="+key, hdr...)
				seen[first] = true
				for range 2 {
					if _, again, _ := g.fetch("GET", "/?user="+key, hdr...); again != first {
						t.Fatalf("key %s: %s then %s", key, first, again)
					}
				}
			}
			if !seen["a"] || !seen["b"] {
				t.Fatalf("40 keys all went to one node: %v", seen)
			}
		})
	}
}

func TestLeastConnAvoidsBusyNode(t *testing.T) {
	release := make(chan struct{})
	gotSlow := make(chan struct{}, 16)
	slow := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		gotSlow <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "slow")
	}))
	fast := namedUpstream(t, "fast", 0)
	g := startGateway(t, upstreamYAML("      type: least_conn\n", slow.addr, "1", fast.addr, "1"), Options{Loops: 1})
	var wg sync.WaitGroup
	defer func() { close(release); wg.Wait() }()
	// Until one request is held by the slow node, requests alternate.
	for parked := false; !parked; {
		done := make(chan struct{})
		wg.Go(func() {
			defer close(done)
			g.fetch("GET", "/")
		})
		select {
		case <-gotSlow:
			parked = true
		case <-done:
		}
	}
	for i := range 20 {
		if _, body, _ := g.fetch("GET", "/"); body != "fast" {
			t.Fatalf("request %d went to %q while the slow node had one in flight", i, body)
		}
	}
}

func TestEWMAPrefersTheFastNode(t *testing.T) {
	slow, fast := namedUpstream(t, "slow", 30*time.Millisecond), namedUpstream(t, "fast", 0)
	g := startGateway(t, upstreamYAML("      type: ewma\n", slow.addr, "1", fast.addr, "1"), Options{Loops: 1})
	got := map[string]int{}
	for range 40 {
		_, body, _ := g.fetch("GET", "/")
		got[body]++
	}
	// Each node is measured once; from then on the fast one wins every
	// draw until the slow one's estimate decays (tens of seconds).
	if got["slow"] > 3 {
		t.Fatalf("ewma sent %v", got)
	}
}

// withHealth gives the gateway's builder a health manager whose Down-set
// changes are sent on the returned channel.
func withHealth(t *testing.T) (func(*cfgsync.Builder), <-chan health.DownChange) {
	ch := make(chan health.DownChange, 64)
	m := health.NewManager(health.Options{Events: health.EventListener{DownChanged: func(d health.DownChange) { ch <- d }}})
	t.Cleanup(m.Close)
	return func(b *cfgsync.Builder) { b.Health = m }, ch
}

func waitDown(t *testing.T, ch <-chan health.DownChange, want int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case d := <-ch:
			if len(d.Down) == want {
				return
			}
		case <-timeout:
			t.Fatalf("the Down set never had %d nodes", want)
		}
	}
}

// Passive checks count the statuses of real traffic: a node answering 500s
// leaves the picker, and with all nodes down, all are used again.
func TestPassiveHealthEjectsFailingNode(t *testing.T) {
	bad := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		_, _ = io.WriteString(w, "bad")
	}))
	good := namedUpstream(t, "good", 0)
	with, downs := withHealth(t)
	checks := "      checks:\n        active:\n          healthy: {interval: 3600}\n          unhealthy: {interval: 3600}\n" +
		"        passive:\n          unhealthy: {http_statuses: [500], http_failures: 2}\n"
	g := startGateway(t, upstreamYAML(checks, bad.addr, "1", good.addr, "1"), Options{Loops: 1}, with)
	fails := 0
	for fails < 2 {
		status, body, ups := g.fetch("GET", "/")
		if status == 500 {
			fails++
			if ups != "500" {
				t.Fatalf("X-APISIX-Upstream-Status %q on a passed-through 500", ups)
			}
		} else if body != "good" {
			t.Fatalf("%d %q", status, body)
		}
	}
	waitDown(t, downs, 1)
	for i := range 10 {
		if status, body, _ := g.fetch("GET", "/"); status != 200 || body != "good" {
			t.Fatalf("request %d after ejection: %d %q", i, status, body)
		}
	}
}

// A node that refuses connections is hidden by retries, and counted as
// TCP failures until passive checks eject it.
func TestRetriesHideDeadNodes(t *testing.T) {
	dead := testport.Refused(t)
	good := namedUpstream(t, "good", 0)
	with, downs := withHealth(t)
	checks := "      checks:\n        active:\n          type: tcp\n          healthy: {interval: 3600}\n          unhealthy: {interval: 3600}\n"
	g := startGateway(t, upstreamYAML(checks, dead, "1", good.addr, "1"), Options{Loops: 1}, with)
	for i := range 6 {
		if status, body, _ := g.fetch("GET", "/"); status != 200 || body != "good" {
			t.Fatalf("request %d: %d %q", i, status, body)
		}
	}
	waitDown(t, downs, 1) // passive tcp_failures: 2
}

func TestAllNodesDown(t *testing.T) {
	d1, d2, d3 := testport.Refused(t), testport.Refused(t), testport.Refused(t)
	t.Run("retries-exhausted-502", func(t *testing.T) {
		g := startGateway(t, upstreamYAML("", d1, "1", d2, "1", d3, "1"), Options{})
		status, body, ups := g.fetch("GET", "/")
		if status != 502 || !strings.Contains(body, "502 Bad Gateway") || ups != "502, 502, 502" {
			t.Fatalf("%d %q upstream status %q", status, body, ups)
		}
	})
	t.Run("fewer-retries", func(t *testing.T) {
		g := startGateway(t, upstreamYAML("      retries: 1\n", d1, "1", d2, "1", d3, "1"), Options{})
		if status, _, ups := g.fetch("GET", "/"); status != 502 || ups != "502, 502" {
			t.Fatalf("%d upstream status %q", status, ups)
		}
	})
	t.Run("one-node-retries-itself", func(t *testing.T) {
		g := startGateway(t, upstreamYAML("      retries: 2\n", d1, "1"), Options{})
		if status, _, ups := g.fetch("GET", "/"); status != 502 || ups != "502, 502, 502" {
			t.Fatalf("%d upstream status %q", status, ups)
		}
	})
}

// hangingUpstream reads requests and never answers.
func hangingUpstream(t *testing.T) string {
	return startRawUpstream(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
	}).addr
}

func TestTimeoutsAndRetryTimeout(t *testing.T) {
	h1, h2, h3 := hangingUpstream(t), hangingUpstream(t), hangingUpstream(t)
	good := namedUpstream(t, "good", 0)
	t.Run("read-timeout-retried", func(t *testing.T) {
		g := startGateway(t, upstreamYAML("      timeout: {connect: 1, send: 1, read: 0.2}\n", h1, "1", good.addr, "1"), Options{})
		for i := range 4 {
			if status, body, _ := g.fetch("GET", "/"); status != 200 || body != "good" {
				t.Fatalf("request %d: %d %q", i, status, body)
			}
		}
	})
	t.Run("all-time-out-504", func(t *testing.T) {
		g := startGateway(t, upstreamYAML("      timeout: {connect: 1, send: 1, read: 0.2}\n", h1, "1", h2, "1"), Options{})
		if status, _, ups := g.fetch("GET", "/"); status != 504 || ups != "504, 504" {
			t.Fatalf("%d upstream status %q", status, ups)
		}
	})
	t.Run("retry-timeout-502", func(t *testing.T) {
		g := startGateway(t, upstreamYAML("      timeout: {connect: 1, send: 1, read: 0.3}\n      retry_timeout: 0.4\n", h1, "1", h2, "1", h3, "1"), Options{})
		if status, _, ups := g.fetch("GET", "/"); status != 502 || ups != "504, 504" {
			t.Fatalf("%d upstream status %q", status, ups)
		}
	})
}

// A request that was sent is sent again only when it is idempotent: a
// POST that reached a node that then closed is not retried.
func TestSentRequestsRetriedOnlyWhenIdempotent(t *testing.T) {
	closer := startRawUpstream(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf) // the request arrived; close without answering
	})
	good := namedUpstream(t, "good", 0)
	// Weights make the closing node the first pick of each request.
	yaml := upstreamYAML("", closer.addr, "1000", good.addr, "1")
	g := startGateway(t, yaml, Options{Loops: 1})
	if status, body, ups := g.fetch("GET", "/"); status != 200 || body != "good" {
		t.Fatalf("GET: %d %q %q", status, body, ups)
	}
	status, _, ups := g.fetch("POST", "/")
	if status != 502 || ups != "502" {
		t.Fatalf("POST: %d upstream status %q, want one 502 attempt", status, ups)
	}
}

// blackholeAddr returns a loopback address whose connects hang: a listener
// whose accept queue is full (backlog 0, never accepting), so the kernel
// drops further SYNs.
func blackholeAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // this one hung: the queue is full
		}
		t.Cleanup(func() { _ = c.Close() })
		if i == 16 {
			t.Skip("the kernel never stopped accepting connects; no way to make a connect time out here")
		}
	}
}

func TestConnectAndSendTimeouts(t *testing.T) {
	good := namedUpstream(t, "good", 0)
	t.Run("connect-timeout-retried", func(t *testing.T) {
		hole := blackholeAddr(t)
		g := startGateway(t, upstreamYAML("      timeout: {connect: 0.2, send: 1, read: 1}\n", hole, "1000", good.addr, "1"), Options{})
		if status, body, _ := g.fetch("GET", "/"); status != 200 || body != "good" {
			t.Fatalf("%d %q", status, body)
		}
	})
	t.Run("connect-timeout-504", func(t *testing.T) {
		hole := blackholeAddr(t)
		g := startGateway(t, upstreamYAML("      timeout: {connect: 0.2, send: 1, read: 1}\n", hole, "1"), Options{})
		if status, _, ups := g.fetch("GET", "/"); status != 504 || ups != "504" {
			t.Fatalf("%d %q", status, ups)
		}
	})
	t.Run("send-timeout-504", func(t *testing.T) {
		// The upstream takes the connection and never reads: the body
		// stalls in the socket buffers and the send timeout fires.
		stuck := startRawUpstream(t, func(c net.Conn) { time.Sleep(5 * time.Second) })
		g := startGateway(t, upstreamYAML("      timeout: {connect: 1, send: 0.3, read: 5}\n", stuck.addr, "1"), Options{})
		c := g.dial()
		const size = 64 << 20
		go func() {
			_, _ = fmt.Fprintf(c.c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", size)
			_, _ = c.c.Write(make([]byte, size)) // fails once the gateway closes
		}()
		resp, _ := c.response("POST")
		if resp.StatusCode != 504 || resp.Header.Get("X-APISIX-Upstream-Status") != "504" {
			t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("X-APISIX-Upstream-Status"))
		}
	})
}

// inFlight sums every loop's NodeStats.InFlight, read on the loops.
func (g *gateway) inFlight() int {
	g.srv.engMu.Lock()
	loops := append([]*loop(nil), g.srv.loops...)
	g.srv.engMu.Unlock()
	total := 0
	for _, l := range loops {
		ch := make(chan int, 1)
		if err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			n := 0
			for _, ln := range l.nodes {
				if ln != nil {
					n += ln.stats.InFlight
				}
			}
			ch <- n
			return nil
		})); err != nil {
			g.t.Fatal(err)
		}
		total += <-ch
	}
	return total
}

// Every attempt that starts finishes, however it ends: the in-flight counts
// least_conn reads go back to zero after successes, refusals, retries,
// timeouts, 5xx and clients leaving mid-request.
func TestAttemptsAreBracketed(t *testing.T) {
	release := make(chan struct{})
	slow := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		w.WriteHeader(503)
	}))
	defer close(release)
	good, hang := namedUpstream(t, "good", 0), hangingUpstream(t)
	g := startGateway(t, upstreamYAML("      type: least_conn\n      timeout: {connect: 1, send: 1, read: 0.2}\n",
		testport.Refused(t), "1", good.addr, "1", hang, "1", slow.addr, "1"), Options{Loops: 2})
	for range 20 {
		g.fetch("GET", "/")
	}
	// Clients that leave while their request waits on the slow node.
	for range 4 {
		c := g.dial()
		c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		_ = c.c.Close()
	}
	waitFor(t, "every attempt finished", func() bool { return g.inFlight() == 0 })
}
