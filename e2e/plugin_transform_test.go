package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/testport"
)

// End-to-end tests of the transformation plugins (proxy-rewrite,
// response-rewrite, redirect, cors, request-id) on the real binary: routes
// written through the Admin API, requests through the proxy to the Go twin
// of APISIX's test upstream, APISIX's statuses, headers and bodies.

// transformGateway is one gateway (embedded etcd, Admin API) and the
// upstreams the cases use.
type transformGateway struct {
	*etcdGateway
	origin *testOrigin
	target string // targetEcho's address
}

// targetEcho answers with the request line's target and method and the
// request's headers (lower-cased, sorted), to see exactly what sluice sent.
func targetEcho(t *testing.T) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "request_uri: %s\nmethod: %s\n", r.RequestURI, r.Method)
		writeSortedHeaders(w, r, false)
	})}
	ln := listenLoopback(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// route PUTs route id with plugins to upstream addr and waits until a GET
// of probe answers probeStatus.
func (g *transformGateway) route(id, uri, plugins, addr, probe string, probeStatus int) {
	g.t.Helper()
	body := fmt.Sprintf(`{"uri": %q, "plugins": %s, "upstream": {"type": "roundrobin", "nodes": {%q: 1}}}`, uri, plugins, addr)
	if code, resp := g.adminCall("PUT", "/apisix/admin/routes/"+id, body); code >= 300 {
		g.t.Fatalf("PUT route %s: %d %s", id, code, resp)
	}
	waitUntil(g.t, "route "+id, func() bool {
		resp, _ := g.do("GET", probe, nil, "")
		return resp != nil && resp.StatusCode == probeStatus
	})
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends one request through the proxy (redirects not followed).
func (g *transformGateway) do(method, path string, hdr map[string]string, body string) (*http.Response, string) {
	req, err := http.NewRequest(method, "http://"+g.addr+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return nil, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// expect checks a response's status, some of its headers ("" means
// absent) and its body (when want is not "-").
func expect(t *testing.T, resp *http.Response, body string, status int, headers map[string]string, want string) {
	t.Helper()
	if resp == nil {
		t.Fatalf("no response: %s", body)
	}
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d (body %q)", resp.StatusCode, status, body)
	}
	for k, v := range headers {
		got := strings.Join(resp.Header.Values(k), ", ")
		if got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if want != "-" && body != want {
		t.Errorf("body %q, want %q", body, want)
	}
}

func startTransformGateway(t *testing.T) *transformGateway {
	g := &transformGateway{etcdGateway: startEtcdGateway(t, "traditional", "", ""), origin: startOrigin(t), target: targetEcho(t)}
	return g
}

func TestProxyRewriteE2E(t *testing.T) {
	g := startTransformGateway(t)
	o := g.origin.addr

	g.route("1", "/hello", `{"proxy-rewrite": {"uri": "/plugin_proxy_rewrite", "host": "apisix.iresty.com"}}`, o, "/hello", 200)
	resp, body := g.do("GET", "/hello", nil, "")
	expect(t, resp, body, 200, nil, "uri: /plugin_proxy_rewrite\nhost: apisix.iresty.com\nscheme: http\n")

	g.route("2", "/args", `{"proxy-rewrite": {"uri": "/plugin_proxy_rewrite_args"}}`, o, "/args", 200)
	resp, body = g.do("GET", "/args?q=apisix&a=iresty", nil, "")
	expect(t, resp, body, 200, nil, "uri: /plugin_proxy_rewrite_args\na: iresty\nq: apisix\n")

	// regex_uri with captures in headers, legacy map removal, and
	// variables (proxy-rewrite.t TEST 20, 37; proxy-rewrite3.t TEST 28).
	g.route("3", "/test/*", `{"proxy-rewrite": {"regex_uri": ["^/test/(.*)/(.*)", "/uri"],
		"headers": {"add": {"X-Request-ID": "$1/$2"}, "set": {"X-Api": "$remote_addr", "X-Name": "$arg_name"}, "remove": ["X-Drop"]}}}`, o, "/test/a/b", 200)
	resp, body = g.do("GET", "/test/plugin/proxy?name=Bill", map[string]string{"X-Drop": "1", "X-Keep": "k"}, "")
	expect(t, resp, body, 200, nil, "-")
	for _, line := range []string{"uri: /uri\n", "x-request-id: plugin/proxy\n", "x-api: 127.0.0.1\n", "x-name: Bill\n", "x-keep: k\n"} {
		if !strings.Contains(body, line) {
			t.Errorf("no %q in\n%s", line, body)
		}
	}
	if strings.Contains(body, "x-drop") {
		t.Errorf("x-drop sent:\n%s", body)
	}

	// What goes on the request line: method, the encoded uri, the query
	// merged (proxy-rewrite.t TEST 34, 66; proxy-rewrite3.t TEST 2, 24).
	g.route("4", "/reflect*", `{"proxy-rewrite": {"regex_uri": ["^(/reflect.*)", "/print?orig=$1"], "method": "POST"}}`, g.target, "/reflect", 200)
	resp, body = g.do("GET", "/reflect%0d%0aX-Injected:pwn?a=1", nil, "")
	expect(t, resp, body, 200, nil, "-")
	if !strings.HasPrefix(body, "request_uri: /print?orig=/reflect%0D%0AX-Injected:pwn&a=1\nmethod: POST\n") {
		t.Errorf("upstream saw\n%s", body)
	}
	g.route("5", "/hello*", `{"proxy-rewrite": {"uri": "/$uri/remain"}}`, g.target, "/hello", 200)
	resp, body = g.do("GET", "/hello%3f0z=700%26a=c", nil, "")
	expect(t, resp, body, 200, nil, "-")
	if !strings.HasPrefix(body, "request_uri: //hello%253F0z=700&a=c/remain\n") {
		t.Errorf("upstream saw\n%s", body)
	}

	// The Admin API refuses bad confs with APISIX's words.
	for conf, want := range map[string]string{
		`{"regex_uri": ["^/a", "/b", "^/c"]}`: "failed to check the configuration of plugin proxy-rewrite err: The length of regex_uri should be an even number",
		`{"uri": "hello"}`:                    `failed to check the configuration of plugin proxy-rewrite err: property \"uri\" validation failed: failed to match pattern`,
		`{"regex_uri": ["^/(?=x)", "/"]}`:     "RE2",
		`{"headers": {"X-Api:Version": "v"}}`: "invalid field character in header",
	} {
		code, resp := g.adminCall("PUT", "/apisix/admin/routes/9", `{"uri": "/x", "plugins": {"proxy-rewrite": `+conf+`}, "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:1": 1}}}`)
		if code != 400 || !strings.Contains(resp, want) {
			t.Errorf("%s: %d %s, want 400 with %q", conf, code, resp, want)
		}
	}
}

// A plugin's X-Forwarded-* edits replace the gateway's own values
// (proxy-rewrite2.t TEST 4, 7, 10, 11; proxy-rewrite3.t TEST 13, 34, 36).
func TestProxyRewriteForwardedHeadersE2E(t *testing.T) {
	g := startTransformGateway(t)
	g.route("1", "/echo", `{"proxy-rewrite": {"headers": {"X-Forwarded-Proto": "https", "X-Forwarded-Port": 10080, "X-Forwarded-For": "22.22.22.22"}}}`, g.origin.addr, "/echo", 200)
	resp, body := g.do("GET", "/echo", map[string]string{"X-Forwarded-Proto": "grpc", "X-Forwarded-Port": "8080", "X-Forwarded-For": "11.11.11.11"}, "")
	expect(t, resp, body, 200, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Port": "10080", "X-Forwarded-For": "22.22.22.22, 127.0.0.1"}, "-")

	g.route("2", "/echo2", `{"proxy-rewrite": {"uri": "/echo", "headers": {"remove": ["X-Forwarded-Host"], "set": {"X-Forwarded-Proto": "https-rewrite"}}}}`, g.origin.addr, "/echo2", 200)
	resp, body = g.do("GET", "/echo2", map[string]string{"X-Forwarded-Host": "client.example.com"}, "")
	expect(t, resp, body, 200, map[string]string{"X-Forwarded-Host": "", "X-Forwarded-Proto": "https-rewrite"}, "-")
}

func TestRedirectE2E(t *testing.T) {
	g := startTransformGateway(t)
	g.route("1", "/hello*", `{"redirect": {"uri": "$uri/test/a${arg_name}c", "ret_code": 301}}`, g.origin.addr, "/hello", 301)
	resp, body := g.do("GET", "/hello?name=json", nil, "")
	expect(t, resp, body, 301, map[string]string{"Location": "/hello/test/ajsonc", "Content-Type": "text/html; charset=utf-8"}, "-")
	if !strings.Contains(body, "<title>301 Moved Permanently</title>") {
		t.Errorf("body %q", body)
	}

	g.route("2", "/https", `{"redirect": {"http_to_https": true}}`, g.origin.addr, "/https", 301)
	resp, body = g.do("POST", "/https?a=1", map[string]string{"Host": "foo.com"}, "x")
	expect(t, resp, body, 308, map[string]string{"Location": "https://foo.com/https?a=1"}, "-")

	// regex_uri that does not match lets the request through (TEST 36).
	g.route("3", "/hello1", `{"redirect": {"regex_uri": ["^/test/(.*)", "http://test.com/${1}"]}}`, g.origin.addr, "/hello1", 200)
	resp, body = g.do("GET", "/hello1", nil, "")
	expect(t, resp, body, 200, map[string]string{"Location": ""}, "hello1 world\n")

	code, msg := g.adminCall("PUT", "/apisix/admin/routes/9", `{"uri": "/x", "plugins": {"redirect": {"http_to_https": true, "append_query_string": true}}}`)
	if code != 400 || !strings.Contains(msg, "failed to check the configuration of plugin redirect err: only one of `http_to_https` and `append_query_string` can be configured.") {
		t.Errorf("%d %s", code, msg)
	}
}

func TestCorsE2E(t *testing.T) {
	g := startTransformGateway(t)
	g.route("1", "/hello", `{"cors": {"allow_origins": "http://sub.domain.com,http://sub2.domain.com", "allow_methods": "GET,POST",
		"allow_headers": "headr1,headr2", "expose_headers": "ex-headr1,ex-headr2", "max_age": 50, "allow_credential": true}}`, g.origin.addr, "/hello", 200)
	resp, body := g.do("GET", "/hello", map[string]string{"Origin": "http://sub2.domain.com"}, "")
	expect(t, resp, body, 200, map[string]string{
		"Access-Control-Allow-Origin": "http://sub2.domain.com", "Vary": "Origin", "Access-Control-Allow-Methods": "GET,POST",
		"Access-Control-Allow-Headers": "headr1,headr2", "Access-Control-Expose-Headers": "ex-headr1,ex-headr2",
		"Access-Control-Max-Age": "50", "Access-Control-Allow-Credentials": "true"}, "hello world\n")
	resp, body = g.do("GET", "/hello", map[string]string{"Origin": "http://sub3.domain.com"}, "")
	expect(t, resp, body, 200, map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Vary": "Origin"}, "hello world\n")

	// A preflight is answered by the gateway: 200, empty body.
	resp, body = g.do("OPTIONS", "/hello", map[string]string{"Origin": "http://sub.domain.com"}, "")
	expect(t, resp, body, 200, map[string]string{"Access-Control-Allow-Origin": "http://sub.domain.com", "Access-Control-Max-Age": "50"}, "")

	// The gateway's own error answers carry the headers: a 502 from a
	// route whose upstream refuses connections.
	dead := fmt.Sprintf("127.0.0.1:%d", testport.Port(t))
	g.route("2", "/dead", `{"cors": {"allow_origins": "**"}}`, dead, "/dead", 502)
	resp, body = g.do("GET", "/dead", map[string]string{"Origin": "https://sub.domain.com"}, "")
	expect(t, resp, body, 502, map[string]string{"Access-Control-Allow-Origin": "https://sub.domain.com", "Vary": "Origin"}, "-")

	// And a 404 with cors in a global rule.
	if code, msg := g.adminCall("PUT", "/apisix/admin/global_rules/1", `{"plugins": {"cors": {}}}`); code >= 300 {
		t.Fatalf("%d %s", code, msg)
	}
	waitUntil(t, "global cors", func() bool {
		resp, _ := g.do("GET", "/nowhere", nil, "")
		return resp != nil && resp.Header.Get("Access-Control-Allow-Origin") == "*"
	})
	resp, body = g.do("GET", "/nowhere", nil, "")
	expect(t, resp, body, 404, map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "*", "Access-Control-Max-Age": "5"},
		"{\"error_msg\":\"404 Route Not Found\"}\n")

	code, msg := g.adminCall("PUT", "/apisix/admin/routes/9", `{"uri": "/x", "plugins": {"cors": {"allow_credential": true}}}`)
	if code != 400 || !strings.Contains(msg, "failed to check the configuration of plugin cors err: you can not set '*' for other option when 'allow_credential' is true") {
		t.Errorf("%d %s", code, msg)
	}
}

func TestRequestIDE2E(t *testing.T) {
	g := startTransformGateway(t)
	g.route("1", "/uri", `{"request-id": {}}`, g.origin.addr, "/uri", 200)
	resp, body := g.do("GET", "/uri", nil, "")
	id := resp.Header.Get("X-Request-Id")
	expect(t, resp, body, 200, nil, "-")
	if len(id) != 36 || !strings.Contains(body, "x-request-id: "+id+"\n") {
		t.Errorf("id %q, upstream saw\n%s", id, body)
	}
	resp, body = g.do("GET", "/uri", map[string]string{"X-Request-Id": "123"}, "")
	expect(t, resp, body, 200, map[string]string{"X-Request-Id": "123"}, "-")
	if !strings.Contains(body, "x-request-id: 123\n") {
		t.Errorf("upstream saw\n%s", body)
	}

	g.route("2", "/opentracing", `{"request-id": {"algorithm": "nanoid", "header_name": "X-Trace"}}`, fmt.Sprintf("127.0.0.1:%d", testport.Port(t)), "/opentracing", 502)
	resp, body = g.do("GET", "/opentracing", nil, "")
	if id := resp.Header.Get("X-Trace"); len(id) != 21 {
		t.Errorf("nanoid on a 502: %q (%d %q)", id, resp.StatusCode, body)
	}
}

func TestResponseRewriteE2E(t *testing.T) {
	g := startTransformGateway(t)
	o := g.origin.addr
	g.route("1", "/with_header", `{"response-rewrite": {"headers": {"X-Server-id": 3, "X-Server-status": "on", "Content-Type": ""}, "body": "new body\n"}}`, o, "/with_header", 200)
	resp, body := g.do("GET", "/with_header", nil, "")
	expect(t, resp, body, 200, map[string]string{"X-Server-id": "3", "X-Server-status": "on", "Content-Type": ""}, "new body\n")

	g.route("2", "/hello", `{"response-rewrite": {"filters": [{"regex": "l", "replace": "t", "scope": "global"}], "headers": {"add": ["X-A: $remote_addr"]}}}`, o, "/hello", 200)
	resp, body = g.do("GET", "/hello", nil, "")
	expect(t, resp, body, 200, map[string]string{"X-A": "127.0.0.1"}, "hetto wortd\n")

	// vars on the upstream's status (response-rewrite.t TEST 19, 20).
	g.route("3", "/server_error", `{"response-rewrite": {"body": "new body3\n", "status_code": 403, "vars": [["status","==",500]]}}`, o, "/server_error", 403)
	resp, body = g.do("GET", "/server_error", nil, "")
	expect(t, resp, body, 403, nil, "new body3\n")
	g.route("4", "/hello1", `{"response-rewrite": {"body": "new body3\n", "status_code": 403, "vars": [["status","==",500]]}}`, o, "/hello1", 200)
	resp, body = g.do("GET", "/hello1", nil, "")
	expect(t, resp, body, 200, nil, "hello1 world\n")

	// A chunked upstream body is filtered whole.
	g.route("5", "/hello_chunked", `{"response-rewrite": {"filters": [{"regex": "hello world", "replace": "bye"}]}}`, o, "/hello_chunked", 200)
	resp, body = g.do("GET", "/hello_chunked", nil, "")
	expect(t, resp, body, 200, nil, "bye\n")

	// A gateway answer (502) is rewritten too.
	g.route("6", "/gone", `{"response-rewrite": {"status_code": 503, "body": "{\"msg\":\"down\"}", "headers": {"set": {"Content-Type": "application/json"}}, "vars": [["status","==",502]]}}`,
		fmt.Sprintf("127.0.0.1:%d", testport.Port(t)), "/gone", 503)
	resp, body = g.do("GET", "/gone", nil, "")
	expect(t, resp, body, 503, map[string]string{"Content-Type": "application/json"}, `{"msg":"down"}`)

	for conf, want := range map[string]string{
		`{"status_code": 599}`:               `property \"status_code\" validation failed: expected 599 to be at most 598`,
		`{"body_base64": true, "body": "1"}`: "invalid base64 content",
		`{"filters": [{"regex": "hello", "replace": "HELLO", "options": "h"}]}`: `regex \"hello\" validation failed: unknown flag \"h\" (flags \"h\")`,
	} {
		code, msg := g.adminCall("PUT", "/apisix/admin/routes/9", `{"uri": "/x", "plugins": {"response-rewrite": `+conf+`}}`)
		if code != 400 || !strings.Contains(msg, "failed to check the configuration of plugin response-rewrite err: ") || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %s, want %q", conf, code, msg, want)
		}
	}
}
