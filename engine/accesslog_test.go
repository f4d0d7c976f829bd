package engine

import (
	"io"
	"net/http"
	"strconv"
	"testing"

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
