package engine

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// accessRecorder is an AccessLogger that hands each request's status and
// route to the test.
type accessRecorder chan string

func (r accessRecorder) Log(c *reqctx.Ctx) {
	r <- c.RouteID + " " + strconv.Itoa(c.Status) + " " + string(c.Method())
}

// The access log sees every request once it is over: proxied, unmatched,
// and one whose client left (499) — after the plugins' log phase.
func TestAccessLogSeesEveryRequest(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	rec := make(accessRecorder, 16)
	gate := make(chan struct{})
	gates.Store("route-access-gone", gate)
	defer close(gate)
	g := startGateway(t, phasesYAML(up.addr, "access", "")+`  - id: gone
    uri: /gone
    plugins:
      test-phases: {tag: route-access-gone, park_phase: access}
    upstream:
      nodes:
        "`+up.addr+`": 1
`, Options{AccessLog: rec})
	c := g.dial()
	c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c.response("GET")
	if got := <-rec; got != "r 200 GET" {
		t.Fatalf("proxied: %q", got)
	}
	if got := takeRecord(t, "route-access", 6); got != "rewrite access before_proxy header_filter(200) body_filter(eof) log(200)" {
		t.Fatalf("plugins ran %s", got)
	}
	c.send("HEAD /gone HTTP/1.1\r\nHost: a\r\n\r\n")
	takeRecord(t, "route-access-gone", 3) // parked in access
	_ = c.c.Close()
	if got := <-rec; got != "gone 499 HEAD" {
		t.Fatalf("client gone: %q", got)
	}
}

func TestAccessLogSeesUnmatchedRequests(t *testing.T) {
	rec := make(accessRecorder, 4)
	g := startGateway(t, "routes: []\n", Options{AccessLog: rec})
	c := g.dial()
	c.send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.response("GET"); resp.StatusCode != 404 {
		t.Fatal(resp.StatusCode)
	}
	if got := <-rec; got != " 404 GET" {
		t.Fatalf("%q", got)
	}
}

// varRecorder hands the test the named variables' values at log time.
type varRecorder struct {
	vars []expr.Var
	out  chan string
}

func (r *varRecorder) Log(c *reqctx.Ctx) {
	var parts []string
	for i := range r.vars {
		v, _ := c.Value(&r.vars[i])
		parts = append(parts, string(v))
	}
	r.out <- strings.Join(parts, " ")
}

// $upstream_host is the Host the request went upstream with, whichever
// of pass_host's choices made it; $upstream_status each attempt's status.
func TestLogSeesTheHostSentUpstream(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Host) }))
	var vars []expr.Var
	for _, name := range []string{"upstream_host", "upstream_status", "upstream_uri"} {
		vars = append(vars, expr.ParseVar(name))
	}
	rec := &varRecorder{vars: vars, out: make(chan string, 4)}
	g := startGateway(t, fmt.Sprintf(`routes:
  - {id: pass, uri: /pass, upstream: {nodes: {%[1]q: 1}}}
  - {id: node, uri: /node, upstream: {pass_host: node, nodes: {%[1]q: 1}}}
  - {id: rewrite, uri: /rewrite, upstream: {pass_host: rewrite, upstream_host: up.example, nodes: {%[1]q: 1}}}
`, up.addr), Options{AccessLog: rec})
	c := g.dial()
	for _, tc := range []struct{ path, want string }{
		{"/pass", "client.example 200 "},
		{"/node", up.addr + " 200 "},
		{"/rewrite", "up.example 200 "},
	} {
		c.send("GET " + tc.path + " HTTP/1.1\r\nHost: client.example\r\n\r\n")
		resp, body := c.response("GET")
		if got := <-rec.out; resp.StatusCode != 200 || got != tc.want || got != body+" 200 " {
			t.Errorf("%s: logged %q (upstream saw Host %q), want %q", tc.path, got, body, tc.want)
		}
	}
}

// headRecorder hands the test each logged request's line and status.
type headRecorder chan string

func (r headRecorder) Log(c *reqctx.Ctx) {
	line, _, _ := strings.Cut(string(c.Head), "\r\n")
	r <- strconv.Itoa(c.Status) + " " + line
}

// Requests refused before routing are access-logged as nginx logs them:
// the status and what was read of the request line.
func TestAccessLogSeesRefusedRequests(t *testing.T) {
	rec := make(headRecorder, 4)
	g := startGateway(t, "routes: []\n", Options{AccessLog: rec, Limits: http1.Limits{MaxRequestLine: 64}})
	for _, tc := range []struct{ send, want string }{
		{"GARBAGE\r\n\r\n", "400 GARBAGE"},
		{"GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\nHost: a\r\n\r\n", "414 GET /" + strings.Repeat("a", 100) + " HTTP/1.1"},
		{"GET /../x HTTP/1.1\r\nHost: a\r\n\r\n", "400 GET /../x HTTP/1.1"},
		{"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", "400 GET / HTTP/1.1"},
	} {
		c := g.dial()
		c.send(tc.send)
		c.expectClosed()
		select {
		case got := <-rec:
			if got != tc.want {
				t.Errorf("%q: logged %q, want %q", tc.send, got, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q: not logged", tc.send)
		}
	}
}
