package health_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/balancer/health"
)

// watcher records a manager's events and lets a test wait for a
// condition, re-checked after every event.
type watcher struct {
	mu     sync.Mutex
	probes map[string][]health.Outcome // by target
	notify chan struct{}
}

func newWatcher() (*watcher, health.EventListener) {
	w := &watcher{probes: map[string][]health.Outcome{}, notify: make(chan struct{}, 1)}
	poke := func() {
		select {
		case w.notify <- struct{}{}:
		default:
		}
	}
	return w, health.EventListener{
		ProbeDone: func(r health.ProbeResult) {
			w.mu.Lock()
			w.probes[r.Target] = append(w.probes[r.Target], r.Outcome)
			w.mu.Unlock()
			poke()
		},
		StateChanged:  func(health.StateChange) { poke() },
		DownChanged:   func(health.DownChange) { poke() },
		ProbesStopped: func(string) { poke() },
	}
}

// seen counts the probes of target that came to o.
func (w *watcher) seen(target string, o health.Outcome) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, got := range w.probes[target] {
		if got == o {
			n++
		}
	}
	return n
}

// until waits for cond, checking it after each event. The deadline only
// turns a hang into a failure; nothing here measures time.
func (w *watcher) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-w.notify:
		case <-deadline:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// liveManager probes every few milliseconds: an interval of n seconds
// lasts n*5ms.
func liveManager(t *testing.T, o health.Options) *health.Manager {
	m := health.NewManager(o)
	m.SetIntervalUnit(5 * time.Millisecond)
	t.Cleanup(m.Close)
	return m
}

// switchable is an HTTP upstream whose status the test sets.
type switchable struct {
	status atomic.Int32
	mu     sync.Mutex
	last   *http.Request
	sni    atomic.Value // string: the server name of the last TLS handshake
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.last = r
	s.mu.Unlock()
	w.WriteHeader(int(s.status.Load()))
}

func (s *switchable) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// serveOn serves h on addr ("127.0.0.1:0" for any port).
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestHTTPUpstreamGoesDownAndComesBack: 500s take the node down after
// unhealthy.http_failures, connection refused after tcp_failures, and it
// comes back after healthy.successes good probes.
func TestHTTPUpstreamGoesDownAndComesBack(t *testing.T) {
	w, ev := newWatcher()
	m := liveManager(t, health.Options{Events: ev})
	up := &switchable{}
	up.status.Store(200)
	srv := serveOn(t, "127.0.0.1:0", up)
	node := srv.Listener.Addr().String()
	checks := `{"active": {"http_path": "/status", "req_headers": ["User-Agent: sluice-probe", "X-Check: 1"],
		"healthy": {"interval": 1, "successes": 2}, "unhealthy": {"interval": 1, "http_failures": 2, "tcp_failures": 3}}}`
	c := m.Acquire("upstreams/1", upstream(t, checks, node), []string{node})

	w.until(t, "a good probe", func() bool { return w.seen(node, st(200)) > 0 })
	r := up.lastRequest()
	if r.Method != "GET" || r.URL.Path != "/status" || r.Host != "127.0.0.1" || r.UserAgent() != "sluice-probe" || r.Header.Get("X-Check") != "1" {
		t.Fatalf("probe request %s %s Host %q headers %v", r.Method, r.URL, r.Host, r.Header)
	}
	if c.Down() != nil {
		t.Fatal("a node answering 200 is down")
	}

	up.status.Store(500)
	w.until(t, "500s to take the node down", func() bool { return c.Down().Has(0) })
	if s, _ := m.StatusOf("upstreams/1"); s.Nodes[0].Status != "unhealthy" || s.Nodes[0].Counter.HTTPFailure != 2 {
		t.Fatalf("after 500s: %+v", s.Nodes[0])
	}
	up.status.Store(200)
	w.until(t, "the node back", func() bool { return c.Down() == nil })
	if s, _ := m.StatusOf("upstreams/1"); s.Nodes[0].Status != "healthy" || s.Nodes[0].Counter != (health.Counters{Success: 2}) {
		t.Fatalf("after recovery: %+v", s.Nodes[0])
	}

	srv.Close() // connection refused from now on
	w.until(t, "refused connections to take the node down", func() bool { return c.Down().Has(0) })
	if _, ctr := c.Node(0); ctr.TCPFailure != 3 {
		t.Fatalf("counters when down: %+v", ctr)
	}
	serveOn(t, node, up)
	w.until(t, "the node back on the same port", func() bool { return c.Down() == nil })
}

// TestPassiveReportsAndActiveReadmission: real traffic takes a node out;
// only active probes bring it back (it gets no traffic while down).
func TestPassiveReportsAndActiveReadmission(t *testing.T) {
	w, ev := newWatcher()
	m := liveManager(t, health.Options{Events: ev})
	up := &switchable{}
	up.status.Store(200)
	node := serveOn(t, "127.0.0.1:0", up).Listener.Addr().String()
	other := "127.0.0.1:1" // never probed healthy; not part of this test's waits
	// Healthy targets are not probed in this test (an hour-long interval),
	// so only the reports move the node out.
	checks := `{"active": {"healthy": {"interval": 720000}, "unhealthy": {"interval": 1}}, "passive": {"unhealthy": {"http_failures": 3}}}`
	c := m.Acquire("routes/5", upstream(t, checks, node, other), []string{node, other})
	for range 3 {
		c.Report(0, st(500)) // what the engine reports after three 500s
	}
	w.until(t, "passive failures to take the node down", func() bool { return c.Down().Has(0) })
	w.until(t, "active probes to re-admit it", func() bool { return !c.Down().Has(0) })
}

func TestTCPCheck(t *testing.T) {
	w, ev := newWatcher()
	m := liveManager(t, health.Options{Events: ev})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acceptAndClose := func(ln net.Listener) {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}
	go acceptAndClose(ln)
	node := ln.Addr().String()
	c := m.Acquire("upstreams/tcp", upstream(t, `{"active": {"type": "tcp"}}`, node), []string{node})
	w.until(t, "a tcp probe", func() bool { return w.seen(node, health.ProbeOK) > 0 })
	if c.Down() != nil {
		t.Fatal("a listening node is down")
	}
	ln.Close()
	w.until(t, "the closed port to go down", func() bool { return c.Down().Has(0) })
	ln, err = net.Listen("tcp", node)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go acceptAndClose(ln)
	w.until(t, "the port back", func() bool { return c.Down() == nil })
	if s, _ := m.StatusOf("upstreams/tcp"); s.Type != "tcp" || s.Nodes[0].Counter.Success != 2 {
		t.Fatalf("status %+v", s)
	}
}

// TestTimeouts: a node that accepts connections but never answers times
// out; three timeouts (the default) take it down.
func TestTimeouts(t *testing.T) {
	w, ev := newWatcher()
	m := liveManager(t, health.Options{Events: ev})
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the kernel completes handshakes; nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	node := ln.Addr().String()
	c := m.Acquire("upstreams/slow", upstream(t, `{"active": {"timeout": 0.05}}`, node), []string{node})
	// The Down set and the probe events are published independently: wait
	// for both before comparing them.
	w.until(t, "timeouts to take the node down", func() bool { return c.Down().Has(0) && w.seen(node, health.Timeout) >= 3 })
	if _, ctr := c.Node(0); ctr.TimeoutFailure != 3 {
		t.Fatalf("counters %+v, %d timeouts seen", ctr, w.seen(node, health.Timeout))
	}
}

// selfSigned makes a certificate for health.test and 127.0.0.1 that no
// system pool trusts.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "health.test"},
		DNSNames:              []string{"health.test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestHTTPSChecks(t *testing.T) {
	cert, pool := selfSigned(t)
	up := &switchable{}
	up.status.Store(200)
	srv := httptest.NewUnstartedServer(up)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			up.sni.Store(hello.ServerName)
			return nil, nil
		},
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	node := srv.Listener.Addr().String()

	for _, tc := range []struct {
		name    string
		checks  string
		roots   *x509.CertPool
		healthy bool
		sni     string
	}{
		{"verification off accepts a self-signed certificate", `{"active": {"type": "https", "https_verify_certificate": false}}`, nil, true, ""},
		{"verification on rejects it", `{"active": {"type": "https"}}`, nil, false, ""},
		{"verification on with its CA trusted, by name", `{"active": {"type": "https", "host": "health.test"}}`, pool, true, "health.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, ev := newWatcher()
			m := liveManager(t, health.Options{Events: ev, RootCAs: tc.roots})
			c := m.Acquire("upstreams/tls", upstream(t, tc.checks, node), []string{node})
			if tc.healthy {
				w.until(t, "two good probes", func() bool { return w.seen(node, st(200)) >= 2 })
				if c.Down() != nil {
					t.Fatal("down")
				}
				if r := up.lastRequest(); tc.sni != "" && (up.sni.Load() != tc.sni || r.Host != tc.sni) {
					t.Fatalf("server name %v, Host %q; want %s", up.sni.Load(), r.Host, tc.sni)
				}
				return
			}
			w.until(t, "failed handshakes to take the node down", func() bool { return c.Down().Has(0) })
			if _, ctr := c.Node(0); ctr.TCPFailure != 2 {
				t.Fatalf("counters %+v", ctr)
			}
		})
	}
}

// TestReleaseStopsProbes: releasing the last checker of an owner stops its
// goroutines, even with a probe blocked mid-request on an upstream that
// never answers.
func TestReleaseStopsProbes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	before := runtime.NumGoroutine()

	m := health.NewManager(health.Options{})
	m.SetIntervalUnit(time.Millisecond)
	node := ln.Addr().String()
	u := upstream(t, `{"active": {"timeout": 3600, "concurrency": 4}}`, node)
	c := m.Acquire("upstreams/1", u, []string{node})
	conn, err := ln.Accept() // a probe is connected and waits an hour for an answer
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m.Release(c)
	m.WaitStopped()
	waitGoroutines(t, before)

	// Close does the same for whatever is still running.
	m2 := health.NewManager(health.Options{})
	m2.SetIntervalUnit(time.Millisecond)
	m2.Acquire("upstreams/1", u, []string{node})
	m2.Acquire("upstreams/2", u, []string{node})
	for range 2 {
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	m2.Close()
	waitGoroutines(t, before)
}

// waitGoroutines waits for the goroutine count to fall back to want: a
// goroutine that has signalled its WaitGroup still needs a moment to
// return, and the runtime has no event for that (goleak polls too).
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	for i := 0; runtime.NumGoroutine() > want; i++ {
		if i == 10000 {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}
