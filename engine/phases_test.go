package engine

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// The test plugin "test-phases" records every phase it runs in, under its
// conf's tag, and can end the request, park it, or edit it in a given
// phase. It is enabled in the engine tests' registry (harness_test.go).
type phaseConf struct {
	Tag        string `json:"tag"`
	ExitPhase  string `json:"exit_phase"`
	ExitStatus int    `json:"exit_status"`
	ExitBody   string `json:"exit_body"`
	ParkPhase  string `json:"park_phase"`
	ParkExit   int    `json:"park_exit"` // the parked job ends the request with this status
	Upper      bool   `json:"upper"`     // rewrite the response body in upper case
	SetHeader  string `json:"set_header"`
	RespHeader string `json:"resp_header"`
	URI        string `json:"uri"`
}

type phasePlugin struct {
	conf phaseConf
	buf  []byte
}

// recorders collect what the plugin saw, by tag; tests use unique tags.
var recorders = struct {
	mu sync.Mutex // guards m
	m  map[string]*[]string
}{m: map[string]*[]string{}}

func record(tag, what string) {
	recorders.mu.Lock()
	defer recorders.mu.Unlock()
	l := recorders.m[tag]
	if l == nil {
		l = new([]string)
		recorders.m[tag] = l
	}
	*l = append(*l, what)
}

// takeRecord returns and clears what tag recorded, once want entries are
// there (the log phase runs after the response is written).
func takeRecord(t *testing.T, tag string, want int) string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d records of %s", want, tag), func() bool {
		recorders.mu.Lock()
		defer recorders.mu.Unlock()
		if l := recorders.m[tag]; l != nil && len(*l) >= want {
			got = *l
			delete(recorders.m, tag)
			return true
		}
		return false
	})
	return strings.Join(got, " ")
}

// takeRecordUntil returns and clears what tag recorded once its last
// record is last.
func takeRecordUntil(t *testing.T, tag, last string) string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%s to record %s", tag, last), func() bool {
		recorders.mu.Lock()
		defer recorders.mu.Unlock()
		if l := recorders.m[tag]; l != nil && len(*l) > 0 && (*l)[len(*l)-1] == last {
			got = *l
			delete(recorders.m, tag)
			return true
		}
		return false
	})
	return strings.Join(got, " ")
}

func init() {
	plugin.Register(&plugin.Def{
		Name:     "test-phases",
		Priority: 100,
		Schema:   `{"type": "object", "properties": {"tag": {"type": "string"}}, "required": ["tag"]}`,
		New: func(_ *plugin.Env, conf []byte) (any, error) {
			p := &phasePlugin{}
			return p, plugin.Decode(conf, &p.conf)
		},
	})
}

func (p *phasePlugin) step(c *reqctx.Ctx, phase string) reqctx.Result {
	record(p.conf.Tag, phase)
	if p.conf.URI != "" && phase == "rewrite" {
		c.SetURI([]byte(p.conf.URI))
	}
	if p.conf.SetHeader != "" && phase == "access" {
		name, val, _ := strings.Cut(p.conf.SetHeader, ":")
		c.SetHeader(name, []byte(val))
	}
	if p.conf.RespHeader != "" && phase == "access" {
		name, val, _ := strings.Cut(p.conf.RespHeader, ":")
		c.SetRespHeader(name, []byte(val))
	}
	if p.conf.ParkPhase == phase {
		return c.Park(&phaseJob{p: p, phase: phase})
	}
	if p.conf.ExitPhase == phase {
		var body []byte
		if p.conf.ExitBody != "" {
			body = []byte(p.conf.ExitBody)
		}
		return c.Exit(p.conf.ExitStatus, body)
	}
	return reqctx.Continue
}

func (p *phasePlugin) Rewrite(c *reqctx.Ctx) reqctx.Result     { return p.step(c, "rewrite") }
func (p *phasePlugin) Access(c *reqctx.Ctx) reqctx.Result      { return p.step(c, "access") }
func (p *phasePlugin) BeforeProxy(c *reqctx.Ctx) reqctx.Result { return p.step(c, "before_proxy") }
func (p *phasePlugin) HeaderFilter(c *reqctx.Ctx) {
	record(p.conf.Tag, fmt.Sprintf("header_filter(%d)", c.Status))
	if p.conf.Upper {
		c.BodyRewrite = true
	}
}

func (p *phasePlugin) BodyFilter(c *reqctx.Ctx, data []byte, eof bool) []byte {
	if eof {
		record(p.conf.Tag, "body_filter(eof)")
	}
	p.buf = bytes.ToUpper(data)
	return p.buf
}

func (p *phasePlugin) Log(c *reqctx.Ctx) {
	record(p.conf.Tag, fmt.Sprintf("log(%d)", c.Status))
}

// phaseJob is the plugin's parked work: it records on the worker goroutine
// and ends the request, or lets it go on, on the loop.
type phaseJob struct {
	p     *phasePlugin
	phase string
}

// gates hold parked jobs of a tag until the test opens them.
var gates sync.Map // tag → chan struct{}

func (j *phaseJob) Run() {
	record(j.p.conf.Tag, "worker("+j.phase+")")
	if g, ok := gates.Load(j.p.conf.Tag); ok {
		<-g.(chan struct{})
	}
}

func (j *phaseJob) Resume(c *reqctx.Ctx) reqctx.Result {
	if c == nil {
		record(j.p.conf.Tag, "abandoned")
		return reqctx.Stop
	}
	if j.p.conf.ParkExit != 0 {
		return c.Exit(j.p.conf.ParkExit, []byte("parked exit\n"))
	}
	return reqctx.Continue
}

var (
	_ plugin.Rewriter       = (*phasePlugin)(nil)
	_ plugin.Accessor       = (*phasePlugin)(nil)
	_ plugin.BeforeProxier  = (*phasePlugin)(nil)
	_ plugin.HeaderFilterer = (*phasePlugin)(nil)
	_ plugin.BodyFilterer   = (*phasePlugin)(nil)
	_ plugin.Logger         = (*phasePlugin)(nil)
)

// phasesYAML is a route to up with test-phases tagged route-<tag>, extra
// conf for it, and a global rule with test-phases tagged global-<tag>.
func phasesYAML(up, tag, extra string) string {
	return fmt.Sprintf(`global_rules:
  - id: g
    plugins:
      test-phases: {tag: global-%[2]s}
routes:
  - id: r
    uri: /*
    plugins:
      test-phases: {tag: route-%[2]s%[3]s}
    upstream:
      nodes:
        %[1]q: 1
`, up, tag, extra)
}

func TestPhasesRunInAPISIXOrder(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	g := startGateway(t, phasesYAML(up.addr, "order", ""), Options{})
	c := g.dial()
	c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if got := takeRecord(t, "global-order", 6); got != "rewrite access before_proxy header_filter(200) body_filter(eof) log(200)" {
		t.Fatalf("global rule ran %s", got)
	}
	if got := takeRecord(t, "route-order", 6); got != "rewrite access before_proxy header_filter(200) body_filter(eof) log(200)" {
		t.Fatalf("route ran %s", got)
	}
}

// A hook that ends the request: the answer still passes the header and
// body filters (global rules' too), and log runs for it.
func TestExitsPassTheFiltersAndLog(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	for _, phase := range []string{"rewrite", "access", "before_proxy"} {
		t.Run(phase, func(t *testing.T) {
			tag := "exit-" + phase
			g := startGateway(t, phasesYAML(up.addr, tag,
				fmt.Sprintf(", exit_phase: %s, exit_status: 401, exit_body: \"{\\\"message\\\":\\\"no\\\"}\\n\", resp_header: \"X-Cors:yes\", upper: true", phase)), Options{})
			c := g.dial()
			c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, body := c.response("GET")
			if resp.StatusCode != 401 || body != "{\"MESSAGE\":\"NO\"}\n" {
				t.Fatalf("%d %q: want the exit body, upper-cased by the body filter", resp.StatusCode, body)
			}
			// A header set in access survives an exit in access or later.
			if phase != "rewrite" && resp.Header.Get("X-Cors") != "yes" {
				t.Fatalf("response header from the access phase missing: %v", resp.Header)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Fatalf("content type %q", ct)
			}
			// Log runs after the answer is written: wait for its record.
			global := takeRecordUntil(t, "global-"+tag, "log(401)")
			if !strings.HasSuffix(global, "header_filter(401) body_filter(eof) log(401)") {
				t.Fatalf("global rule ran %s", global)
			}
			route := takeRecordUntil(t, "route-"+tag, "log(401)")
			if !strings.HasSuffix(route, phase+" header_filter(401) body_filter(eof) log(401)") {
				t.Fatalf("route ran %s", route)
			}
			c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp, _ := c.response("GET"); resp.StatusCode != 401 {
				t.Fatalf("the connection does not carry a second request: %d", resp.StatusCode)
			}
		})
	}
}

// No route: global rules' rewrite and access run, then 404 through their
// filters, then log.
func TestUnmatchedRequestRunsGlobalRules(t *testing.T) {
	g := startGateway(t, `global_rules:
  - id: g
    plugins:
      test-phases: {tag: global-404, resp_header: "X-Global:1"}
routes: []
`, Options{})
	c := g.dial()
	c.send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := c.response("GET")
	if resp.StatusCode != 404 || body != "{\"error_msg\":\"404 Route Not Found\"}\n" || resp.Header.Get("X-Global") != "1" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if got := takeRecord(t, "global-404", 5); got != "rewrite access header_filter(404) body_filter(eof) log(404)" {
		t.Fatalf("global rule ran %s", got)
	}
}

// A hook that parks: its job runs off the loop, and the request resumes
// where it stopped — or ends with the job's answer. A client that leaves
// while parked still gets its log phase (499).
func TestParkedHooksResume(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.URL.Path) }))
	t.Run("continue", func(t *testing.T) {
		g := startGateway(t, phasesYAML(up.addr, "park", ", park_phase: access"), Options{})
		c := g.dial()
		c.send("GET /p HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "/p" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if got := takeRecord(t, "route-park", 7); got != "rewrite access worker(access) before_proxy header_filter(200) body_filter(eof) log(200)" {
			t.Fatalf("route ran %s", got)
		}
		takeRecord(t, "global-park", 6)
	})
	t.Run("exit", func(t *testing.T) {
		g := startGateway(t, phasesYAML(up.addr, "parkexit", ", park_phase: rewrite, park_exit: 429"), Options{})
		c := g.dial()
		c.send("GET /p HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, body := c.response("GET"); resp.StatusCode != 429 || body != "parked exit\n" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if got := takeRecord(t, "route-parkexit", 5); got != "rewrite worker(rewrite) header_filter(429) body_filter(eof) log(429)" {
			t.Fatalf("route ran %s", got)
		}
		if got := takeRecord(t, "global-parkexit", 4); got != "rewrite header_filter(429) body_filter(eof) log(429)" {
			t.Fatalf("global rule ran %s", got)
		}
	})
}

func TestClientLeavingWhileParkedIsLogged(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	gate := make(chan struct{})
	gates.Store("route-gone", gate)
	g := startGateway(t, phasesYAML(up.addr, "gone", ", park_phase: access"), Options{})
	c := g.dial()
	c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	takeRecord(t, "route-gone", 3) // rewrite access worker(access): parked
	_ = c.c.Close()
	if got := takeRecord(t, "route-gone", 1); got != "log(499)" {
		t.Fatalf("after the client left: %s", got)
	}
	close(gate)
	if got := takeRecord(t, "route-gone", 1); got != "abandoned" {
		t.Fatalf("the job's resume: %s", got)
	}
	if got := takeRecord(t, "global-gone", 3); got != "rewrite access log(499)" {
		t.Fatalf("global rule ran %s", got)
	}
}

// Request edits reach the upstream; a rewritten uri keeps the query.
func TestRequestEditsReachTheUpstream(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Added"))
	}))
	g := startGateway(t, phasesYAML(up.addr, "edit", ", uri: /new, set_header: \"X-Added:1\""), Options{})
	c := g.dial()
	c.send("GET /old?a=b HTTP/1.1\r\nHost: a\r\nX-Added: client\r\n\r\n")
	if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "GET /new?a=b 1" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// A body filter that rewrites the body: the upstream's framing is
// replaced by chunked (HTTP/1.1) or a close (HTTP/1.0).
func TestBodyFiltersRewriteUpstreamBodies(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush()
		}
		_, _ = io.WriteString(w, strings.Repeat("abc", 5000))
	}))
	g := startGateway(t, phasesYAML(up.addr, "upper", ", upper: true"), Options{})
	for _, path := range []string{"/length", "/chunked"} {
		c := g.dial()
		c.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.response("GET")
		if resp.StatusCode != 200 || body != strings.Repeat("ABC", 5000) || resp.ContentLength != -1 {
			t.Fatalf("%s: %d len %d (%d) %q...", path, resp.StatusCode, len(body), resp.ContentLength, body[:min(len(body), 12)])
		}
		c.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := c.response("GET"); body != strings.Repeat("ABC", 5000) {
			t.Fatalf("%s: second response %d bytes", path, len(body))
		}
	}
	c := g.dial()
	c.send("GET /length HTTP/1.0\r\nHost: a\r\n\r\n")
	if resp, body := c.response("GET"); body != strings.Repeat("ABC", 5000) || !resp.Close {
		t.Fatalf("HTTP/1.0: %d bytes, close=%v", len(body), resp.Close)
	}
	c.expectClosed()
}

// With every worker busy and the park queue full, a request that parks is
// shed with 503 at once instead of the loop waiting; the queued one runs
// once a worker frees up.
func TestParkingPastTheQueueIsShed(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	gate := make(chan struct{})
	gates.Store("route-shed", gate)
	defer gates.Delete("route-shed")
	g := startGateway(t, phasesYAML(up.addr, "shed", ", park_phase: access"), Options{Loops: 1, Workers: 1, ParkQueue: 1}) // one loop: the queued request is in the queue before the next is read
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the gateway's stop, which waits for the worker
	running, queued, shed := g.dial(), g.dial(), g.dial()
	running.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	takeRecord(t, "route-shed", 3) // rewrite access worker(access): the worker is held
	queued.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	takeRecord(t, "route-shed", 2) // rewrite access: in the queue
	shed.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := shed.response("GET"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("past the queue: %d, want 503", resp.StatusCode)
	}
	release()
	for _, c := range []*rawClient{running, queued} {
		if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
}
