package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// luaRoute writes route id with a serverless plugin running fns in phase.
func luaRoute(t *testing.T, g *etcdGateway, id, uri, plugin, phase string, origin string, fns ...string) {
	t.Helper()
	funcs, _ := json.Marshal(fns)
	body := fmt.Sprintf(`{"uri": %q, "plugins": {%q: {"phase": %q, "functions": %s}}, "upstream": {"nodes": {%q: 1}}}`,
		uri, plugin, phase, funcs, origin)
	if st, resp := g.adminCall("PUT", "/apisix/admin/routes/"+id, body); st >= 300 {
		t.Fatalf("PUT route %s: %d %s", id, st, resp)
	}
}

func getResp(t *testing.T, g *etcdGateway, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+g.addr+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Serverless functions in every phase, as APISIX's docs and
// t/plugin/serverless.t use them.
func TestServerlessInEveryPhase(t *testing.T) {
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	luaRoute(t, g, "rewrite", "/hello", "serverless-pre-function", "rewrite", o.addr,
		// curr_req_matched._path is the path the route matched, after
		// the uri was rewritten too (serverless docs' example).
		`return function(conf, ctx) ngx.req.set_uri("/uri"); ngx.req.set_header("X-Pre", "rewrite " .. ctx.curr_req_matched._path) end`)
	g.waitServes("/hello", 200, "x-pre: rewrite /hello")
	if _, body := getResp(t, g, "/hello"); !strings.Contains(body, "uri: /uri") {
		t.Fatalf("rewrite: %q", body)
	}
	luaRoute(t, g, "access", "/hello1", "serverless-pre-function", "access", o.addr,
		`return function(conf, ctx) if ngx.var.arg_deny then return 403, {message = "denied by " .. ctx.route_id} end end`)
	g.waitServes("/hello1", 200, "hello1")
	if resp, body := getResp(t, g, "/hello1?deny=1"); resp.StatusCode != 403 || body != "{\"message\":\"denied by access\"}\n" {
		t.Fatalf("access exit: %d %q", resp.StatusCode, body)
	}
	if resp, body := getResp(t, g, "/hello1"); resp.StatusCode != 200 || body != "hello1 world\n" {
		t.Fatalf("access pass: %d %q", resp.StatusCode, body)
	}
	luaRoute(t, g, "header", "/status", "serverless-post-function", "header_filter", o.addr,
		`return function(conf, ctx) ngx.header["X-Post"] = "header " .. ngx.status end`)
	g.waitServes("/status", 200, "ok")
	if resp, _ := getResp(t, g, "/status"); resp.Header.Get("X-Post") != "header 200" {
		t.Fatalf("header_filter: %v", resp.Header)
	}
	luaRoute(t, g, "body", "/with_header", "serverless-post-function", "body_filter", o.addr,
		`return function(conf, ctx) ngx.arg[1] = string.upper(ngx.arg[1]) end`)
	g.waitServes("/with_header", 200, "HELLO")
	if _, body := getResp(t, g, "/with_header"); body != "HELLO\nWORLD\n!\n" {
		t.Fatalf("body_filter: %q", body)
	}
	luaRoute(t, g, "log", "/server_port", "serverless-post-function", "log", o.addr,
		`return function(conf, ctx) ngx.log(ngx.WARN, "logged ", ngx.var.uri, " status ", ngx.status) end`)
	g.waitServes("/server_port", 200, "")
	waitUntil(t, "the log phase's line", func() bool { return strings.Contains(g.log.String(), "logged /server_port status 200") })
	luaRoute(t, g, "count", "/echo", "serverless-pre-function", "access", o.addr,
		`return function() ngx.say("pre ", ngx.var.request_method); ngx.exit(200) end`)
	g.waitServes("/echo", 200, "pre GET")
	if resp, body := getResp(t, g, "/echo"); resp.StatusCode != 200 || body != "pre GET\n" {
		t.Fatalf("ngx.say + ngx.exit: %d %q", resp.StatusCode, body)
	}
	luaRoute(t, g, "bp", "/old_uri", "serverless-pre-function", "before_proxy", o.addr,
		`return function(conf, ctx) ngx.req.set_header("X-Node", ngx.var.balancer_ip) end`)
	g.waitServes("/old_uri", 200, "x-node: 127.0.0.1")
}

func TestServerlessRefusedByTheAdminAPI(t *testing.T) {
	g := startEtcdGateway(t, "traditional", "", "")
	for src, want := range map[string]string{
		`local a = 1`:         "only accept Lua function, the input code type is nil",
		`return function(`:    "failed to loadstring",
		`error("at load")`:    "pcall error",
		`return os.execute()`: "pcall error",
	} {
		body := fmt.Sprintf(`{"uri": "/x", "plugins": {"serverless-pre-function": {"functions": [%q]}}, "upstream": {"nodes": {"127.0.0.1:1": 1}}}`, src)
		st, resp := g.adminCall("PUT", "/apisix/admin/routes/bad", body)
		if st != 400 || !strings.Contains(resp, "failed to check the configuration of plugin serverless-pre-function err: ") || !strings.Contains(resp, want) {
			t.Errorf("%s: %d %s, want 400 with %q", src, st, resp, want)
		}
	}
}

func TestFilterFunc(t *testing.T) {
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	body := fmt.Sprintf(`{"uri": "/hello", "filter_func": "function(vars) return vars.arg_name == 'json' end", "upstream": {"nodes": {%q: 1}}}`, o.addr)
	if st, resp := g.adminCall("PUT", "/apisix/admin/routes/1", body); st >= 300 {
		t.Fatalf("%d %s", st, resp)
	}
	g.waitServes("/hello?name=json", 200, "hello world")
	if resp, _ := getResp(t, g, "/hello?name=xml"); resp.StatusCode != 404 {
		t.Fatalf("filter_func let a request through: %d", resp.StatusCode)
	}
}

// A runaway script is stopped at its budget with 500 while its loop keeps
// serving other connections; the sandbox refuses what it must.
func TestLuaRunawayAndSandbox(t *testing.T) {
	o := startOrigin(t)
	e := startEtcd(t)
	g := startEtcdGateway(t, "traditional", e.clientURL, "sluice:\n  loops: 1\n  lua:\n    budget: 200ms\n")
	luaRoute(t, g, "spin", "/mysleep", "serverless-pre-function", "access", o.addr, `return function() while true do end end`)
	luaRoute(t, g, "ok", "/hello", "serverless-pre-function", "access", o.addr, `return function() end`)
	g.waitServes("/hello", 200, "hello world")
	var wg sync.WaitGroup
	var spinStatus int
	wg.Go(func() {
		resp, _ := getResp(t, g, "/mysleep")
		spinStatus = resp.StatusCode
	})
	// While the one loop runs the spinning script, the other request
	// waits at most about one budget.
	start := time.Now()
	resp, body := getResp(t, g, "/hello")
	wg.Wait()
	if spinStatus != 500 || resp.StatusCode != 200 || body != "hello world\n" {
		t.Fatalf("spin %d; other %d %q", spinStatus, resp.StatusCode, body)
	}
	t.Logf("the other request was answered in %v", time.Since(start))
	for _, src := range []string{`os.execute("id")`, `io.open("/etc/passwd")`, `require("os")`, `load("return 1")`} {
		luaRoute(t, g, "sandbox", "/status", "serverless-pre-function", "access", o.addr, "return function() "+src+" end")
		g.waitServes("/status", 500, "")
	}
}
