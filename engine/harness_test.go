package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/testport"
	"github.com/sluicegw/sluice/plugin"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// gateway is a Server under test, listening on loopback.
type gateway struct {
	t     testing.TB
	srv   *Server
	addr  string
	store *cfgsync.Store
	b     *cfgsync.Builder
}

// startGateway runs a server with the given standalone YAML (the #END marker
// is appended) and options (Listen is filled in). with adjusts the config
// builder before the first load (a health manager, a resolver).
func startGateway(t testing.TB, yaml string, opts Options, with ...func(*cfgsync.Builder)) *gateway {
	t.Helper()
	return startGatewayWith(t, yaml, opts, []string{"test-phases"}, with...)
}

// startGatewayPlugins is startGateway with the named plugins enabled (the
// built-in ones are linked by plugins_test.go).
func startGatewayPlugins(t testing.TB, yaml string, opts Options, plugins ...string) *gateway {
	t.Helper()
	return startGatewayWith(t, yaml, opts, plugins)
}

func startGatewayWith(t testing.TB, yaml string, opts Options, plugins []string, with ...func(*cfgsync.Builder)) *gateway {
	t.Helper()
	reg, err := plugin.NewRegistry(plugins, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{t: t, store: cfgsync.NewStore(), b: &cfgsync.Builder{Plugins: reg, Pipeline: &config.Pipeline{Plugins: reg}}}
	for _, f := range with {
		f(g.b)
	}
	if opts.Loops == 0 {
		opts.Loops = 2
	}
	g.load(yaml)
	g.addr = testport.Addr(t)
	opts.Listen = []string{g.addr}
	if opts.Logger == nil && testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := New(opts, g.store)
	if err != nil {
		t.Fatal(err)
	}
	g.srv = srv
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	// The loops listen shortly after boot.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", g.addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("gateway never listened: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return g
}

// load publishes a new snapshot from standalone YAML.
func (g *gateway) load(yaml string) {
	g.t.Helper()
	objs, err := cfgsync.ParseYAMLWith(g.b.Pipeline, []byte(yaml+"\n#END\n"))
	if err != nil {
		g.t.Fatal(err)
	}
	snap, skipped := g.b.Apply(time.Now().UnixNano(), objs, true)
	if len(skipped) > 0 {
		g.t.Fatalf("config problems: %v", skipped)
	}
	g.store.Publish(snap)
}

// routeTo returns YAML for one catch-all route to the given upstream nodes.
func routeTo(nodes ...string) string {
	var b strings.Builder
	b.WriteString("routes:\n  - id: all\n    uri: /*\n    upstream:\n      nodes:\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "        %q: 1\n", n)
	}
	return b.String()
}

// dial opens a raw client connection to the gateway.
func (g *gateway) dial() *rawClient {
	g.t.Helper()
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { _ = c.Close() })
	return &rawClient{t: g.t, c: c, r: bufio.NewReader(c)}
}

// rawClient speaks HTTP/1.1 by hand, so tests control every byte.
type rawClient struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(s)); err != nil {
		rc.t.Fatal(err)
	}
}

// response reads one response (net/http's parser as the independent judge)
// and returns it with its whole body.
func (rc *rawClient) response(method string) (*http.Response, string) {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(rc.r, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("reading body: %v", err)
	}
	return resp, string(body)
}

// expectClosed asserts the gateway closed the connection (after any bytes
// still in flight).
func (rc *rawClient) expectClosed() {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(rc.r); err != nil {
		rc.t.Fatalf("expected EOF, got %v", err)
	}
}

// upstreamServer is a net/http origin on loopback that counts connections.
type upstreamServer struct {
	addr  string
	conns atomic.Int64
	srv   *http.Server
}

func startUpstream(t *testing.T, h http.Handler) *upstreamServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstreamServer{addr: ln.Addr().String()}
	u.srv = &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}}
	go func() { _ = u.srv.Serve(ln) }()
	t.Cleanup(func() { _ = u.srv.Close() })
	return u
}

// rawUpstream is an origin that hands each accepted connection to serve, for
// responses net/http would not produce (bad framing, early closes).
type rawUpstream struct {
	addr     string
	ln       net.Listener
	accepted atomic.Int64

	mu    sync.Mutex // guards conns
	conns map[net.Conn]struct{}
}

// closeAll closes every connection the upstream still has open.
func (u *rawUpstream) closeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for c := range u.conns {
		_ = c.Close()
	}
}

func startRawUpstream(t testing.TB, serve func(c net.Conn)) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{addr: ln.Addr().String(), ln: ln, conns: make(map[net.Conn]struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepted.Add(1)
			u.mu.Lock()
			u.conns[c] = struct{}{}
			u.mu.Unlock()
			go func() {
				defer func() {
					u.mu.Lock()
					delete(u.conns, c)
					u.mu.Unlock()
					_ = c.Close()
				}()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return u
}

// readRequestHead reads one request head from an upstream connection.
func readRequestHead(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String(), nil
		}
	}
}

// waitFor polls cond until it holds or the deadline passes. Used only for
// state that has no event to wait on (counters after a close).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustPrefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// expectQuiet asserts that nothing more arrives on the connection for a
// moment: a gateway that answered one request twice would be caught here.
func (rc *rawClient) expectQuiet() {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if b, err := rc.r.Peek(1); err == nil {
		rc.t.Fatalf("unexpected bytes after the last response: %q...", b)
	}
	_ = rc.c.SetReadDeadline(time.Time{})
}
