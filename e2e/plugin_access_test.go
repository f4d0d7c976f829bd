package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of the access and traffic plugins (real-ip,
// ip-restriction, fault-injection, traffic-split) on the real binary:
// routes written through the Admin API, requests through the proxy to the
// Go twins of APISIX's test upstream, APISIX's statuses, headers and
// bodies.

// putRoute PUTs route id and fails the test on a refusal.
func putRoute(g *etcdGateway, id, body string) {
	g.t.Helper()
	if code, resp := g.adminCall("PUT", "/apisix/admin/routes/"+id, body); code >= 300 {
		g.t.Fatalf("PUT route %s: %d %s", id, code, resp)
	}
}

// expectRefusal PUTs route id and checks the Admin API's 400 and text.
func expectRefusal(g *etcdGateway, id, body, errMsg string) {
	g.t.Helper()
	code, resp := g.adminCall("PUT", "/apisix/admin/routes/"+id, body)
	if want := fmt.Sprintf(`{"error_msg":%q}`, errMsg); code != 400 || strings.TrimSpace(resp) != want {
		g.t.Errorf("PUT route %s: %d %s\nwant 400 %s", id, code, resp, want)
	}
}

// rawExchanges sends each request on one connection, in turn, and returns
// each response's status and body (one keep-alive connection: one loop).
func rawExchanges(t *testing.T, addr string, reqs ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out []string
	for _, r := range reqs {
		if _, err := io.WriteString(c, r); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	return out
}

func TestRealIPAndIPRestrictionE2E(t *testing.T) {
	g := startTransformGateway(t)
	o := g.origin.addr

	// real-ip.t TEST 14-17, 20-23: the client address comes from
	// X-Forwarded-For, and ip-restriction judges that address.
	g.route("1", "/hello", `{"real-ip": {"source": "http_x_forwarded_for"}, "ip-restriction": {"whitelist": ["1.1.1.1", "::2"]}}`, o, "/hello", 403)
	const denied = "{\"message\":\"Your IP address is not allowed\"}\n"
	for _, tc := range []struct {
		xff    string
		status int
		body   string
	}{
		{"1.1.1.1", 200, "hello world\n"},
		{"::1, ::2", 200, "hello world\n"},
		{"1.1.1.1, 2.2.2.2", 403, denied},
		{"", 403, denied}, // the connection's 127.0.0.1
		{"1.1.1.1.1", 403, denied},
	} {
		hdr := map[string]string{}
		if tc.xff != "" {
			hdr["X-Forwarded-For"] = tc.xff
		}
		resp, body := g.do("GET", "/hello", hdr, "")
		expect(t, resp, body, tc.status, map[string]string{}, tc.body)
	}
	// The rewritten address is the request's: the next request on the
	// same connection is the connection's own address again.
	got := rawExchanges(t, g.addr,
		"GET /hello HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 9.9.9.9\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n")
	if want := []string{"200 hello world\n", "403 " + denied, "200 hello world\n"}; !slices.Equal(got, want) {
		t.Errorf("one connection: %q\nwant %q", got, want)
	}

	// trusted_addresses and recursive (TEST 18-23).
	g.route("2", "/hello1", `{"real-ip": {"source": "http_x_forwarded_for", "trusted_addresses": ["192.128.0.0/16", "127.0.0.0/24"], "recursive": true},
		"ip-restriction": {"whitelist": ["1.1.1.1"]}}`, o, "/hello1", 403)
	resp, body := g.do("GET", "/hello1", map[string]string{"X-Forwarded-For": "1.1.1.1, 192.128.1.1, 127.0.0.1"}, "")
	expect(t, resp, body, 200, nil, "hello1 world\n")
	g.route("3", "/status", `{"real-ip": {"source": "http_x_forwarded_for", "trusted_addresses": ["192.128.0.0/16"]},
		"ip-restriction": {"whitelist": ["1.1.1.1"], "message": "Do you want to do something bad?", "response_code": 404}}`, o, "/status", 404)
	resp, body = g.do("GET", "/status", map[string]string{"X-Forwarded-For": "1.1.1.1"}, "")
	expect(t, resp, body, 404, nil, "{\"message\":\"Do you want to do something bad?\"}\n")

	// What the upstream and later plugins see: X-Real-IP, X-Forwarded-For
	// ($proxy_add_x_forwarded_for over the new address), $remote_port.
	g.route("4", "/echo/*", `{"real-ip": {"source": "arg_realip"},
		"response-rewrite": {"headers": {"remote_port": "$remote_port", "remote_addr": "$remote_addr"}}}`, g.target, "/echo/x", 200)
	resp, body = g.do("GET", "/echo/x?realip=[2001:db8::5]:7090", map[string]string{"X-Forwarded-For": "9.9.9.9"}, "")
	expect(t, resp, body, 200, map[string]string{"remote_port": "7090", "remote_addr": "2001:db8::5"}, "-")
	for _, line := range []string{"x-real-ip: 2001:db8::5\n", "x-forwarded-for: 9.9.9.9, 2001:db8::5\n"} {
		if !strings.Contains(body, line) {
			t.Errorf("no %q upstream:\n%s", line, body)
		}
	}

	// ip-restriction's blacklist, IPv4 and IPv6 (ip-restriction.t TEST
	// 12-16, 20-23), without real-ip: the connection's address.
	g.route("5", "/headers", `{"ip-restriction": {"blacklist": ["127.0.0.0/24", "fe80::/32"]}}`, o, "/headers", 403)
	resp, body = g.do("GET", "/headers", nil, "")
	expect(t, resp, body, 403, map[string]string{"Content-Type": "text/plain; charset=utf-8"}, denied)

	// The Admin API's refusals, in APISIX's words.
	up := `"upstream": {"type": "roundrobin", "nodes": {"` + o + `": 1}}`
	expectRefusal(g.etcdGateway, "9", `{"uri": "/x", `+up+`, "plugins": {"real-ip": {}}}`,
		`failed to check the configuration of plugin real-ip err: property "source" is required`)
	expectRefusal(g.etcdGateway, "9", `{"uri": "/x", `+up+`, "plugins": {"real-ip": {"source": "http_xff", "trusted_addresses": ["::1/129"]}}}`,
		`failed to check the configuration of plugin real-ip err: invalid ip address: ::1/129`)
	expectRefusal(g.etcdGateway, "9", `{"uri": "/x", `+up+`, "plugins": {"ip-restriction": {"whitelist": ["127.0.0.0/24"], "response_code": 409}}}`,
		`failed to check the configuration of plugin ip-restriction err: property "response_code" validation failed: expected 409 to be at most 404`)
	expectRefusal(g.etcdGateway, "9", `{"uri": "/x", `+up+`, "plugins": {"ip-restriction": {"whitelist": ["172.17.40.0/24"], "blacklist": ["10.255.0.0/16"]}}}`,
		`failed to check the configuration of plugin ip-restriction err: value should match only one schema, but matches both schemas 1 and 2`)
}

func TestFaultInjectionAbortE2E(t *testing.T) {
	g := startTransformGateway(t)
	o := g.origin.addr

	// fault-injection.t TEST 12-13, 18; percentages 100 and 0.
	g.route("1", "/hello", `{"fault-injection": {"abort": {"http_status": 200, "body": "Fault Injection!\n", "percentage": 100}}}`, o, "/hello", 200)
	for range 5 {
		resp, body := g.do("GET", "/hello", nil, "")
		expect(t, resp, body, 200, nil, "Fault Injection!\n")
	}
	g.route("2", "/hello1", `{"fault-injection": {"abort": {"http_status": 405, "body": "Fault Injection!\n", "percentage": 0}}}`, o, "/hello1", 200)
	for range 5 {
		resp, body := g.do("GET", "/hello1", nil, "")
		expect(t, resp, body, 200, nil, "hello1 world\n")
	}
	// A body with variables and injected headers (TEST 22-23,
	// fault-injection2.t TEST 4-7); vars (TEST 28-33).
	g.route("3", "/status", `{"fault-injection": {"abort": {"http_status": 403, "body": "client addr: $remote_addr, count: $arg_count\n",
		"headers": {"h1": "v1", "h2": 2, "h3": "$uri"},
		"vars": [[["arg_name", "==", "jack"], ["arg_age", "!", "<", 18]], [["http_apikey", "==", "api-key"]]]}}}`, o, "/status", 200)
	resp, body := g.do("GET", "/status?name=jack&age=18&count=2", nil, "")
	expect(t, resp, body, 403, map[string]string{"h1": "v1", "h2": "2", "h3": "/status", "Content-Type": "text/plain; charset=utf-8"},
		"client addr: 127.0.0.1, count: 2\n")
	resp, body = g.do("GET", "/status", map[string]string{"apikey": "api-key"}, "")
	expect(t, resp, body, 403, nil, "client addr: 127.0.0.1, count: \n")
	resp, body = g.do("GET", "/status?name=allen", nil, "")
	expect(t, resp, body, 200, map[string]string{"h1": ""}, "ok\n")
	// Without a body: nginx's page for the status.
	g.route("4", "/headers", `{"fault-injection": {"abort": {"http_status": 503}}}`, o, "/headers", 503)
	resp, body = g.do("GET", "/headers", nil, "")
	expect(t, resp, body, 503, map[string]string{"Content-Type": "text/html; charset=utf-8"}, "-")
	if !strings.Contains(body, "<center><h1>503 ") {
		t.Errorf("503 page: %q", body)
	}

	up := `"upstream": {"type": "roundrobin", "nodes": {"` + o + `": 1}}`
	expectRefusal(g.etcdGateway, "9", `{"uri": "/x", `+up+`, "plugins": {"fault-injection": {}}}`,
		`failed to check the configuration of plugin fault-injection err: expect object to have at least 1 properties`)
	expectRefusal(g.etcdGateway, "9", `{"uri": "/x", `+up+`, "plugins": {"fault-injection": {"abort": {"http_status": 100}}}}`,
		`failed to check the configuration of plugin fault-injection err: property "abort" validation failed: property "http_status" validation failed: expected 100 to be at least 200`)
	expectRefusal(g.etcdGateway, "9", `{"uri": "/x", `+up+`, "plugins": {"fault-injection": {"abort": {"http_status": 403, "vars": [["arg_name", "!=", "jack"]]}}}}`,
		`failed to check the configuration of plugin fault-injection err: rule should be wrapped inside brackets`)
}

// TestFaultInjectionDelayE2E runs the gateway on one event loop: a delayed
// request parks on a worker, so the loop answers other requests meanwhile,
// and the delayed one still takes at least its delay.
func TestFaultInjectionDelayE2E(t *testing.T) {
	e := startEtcd(t)
	g := startEtcdGateway(t, "traditional", e.clientURL, "sluice:\n  loops: 1\n")
	o := startOrigin(t)
	up := `"upstream": {"type": "roundrobin", "nodes": {"` + o.addr + `": 1}}`
	putRoute(g, "1", `{"uri": "/hello", `+up+`, "plugins": {"fault-injection": {"delay": {"duration": 2}}}}`)
	putRoute(g, "2", `{"uri": "/hello1", `+up+`}`)
	g.waitServes("/hello1", 200, "hello1 world")
	waitUntil(t, "the delayed route", func() bool { s, _ := g.get("/hello"); return s == 200 })

	// A client that leaves during its delay: its request is dropped when
	// it wakes, and the gateway goes on.
	gone, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(gone, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
	gone.Close()

	type result struct {
		status int
		body   string
		took   time.Duration
	}
	delayed := make(chan result, 1)
	start := time.Now()
	go func() {
		s, b := g.get("/hello")
		delayed <- result{s, b, time.Since(start)}
	}()
	for i := range 10 {
		if s, b := g.get("/hello1"); s != 200 || b != "hello1 world\n" {
			t.Fatalf("request %d beside the delayed one: %d %q", i, s, b)
		}
	}
	select {
	case r := <-delayed:
		t.Fatalf("the delayed request finished (%v) before the loop answered the others", r)
	default:
	}
	r := <-delayed
	if r.status != 200 || r.body != "hello world\n" {
		t.Fatalf("delayed request: %d %q", r.status, r.body)
	}
	if r.took < 2*time.Second {
		t.Fatalf("the delayed request took %v, less than its 2s delay", r.took)
	}
	// Delay and abort: the abort comes after the delay.
	putRoute(g, "3", `{"uri": "/status", `+up+`, "plugins": {"fault-injection": {"delay": {"duration": 0.5}, "abort": {"http_status": 418, "body": "late\n"}}}}`)
	waitUntil(t, "delay then abort", func() bool { s, _ := g.get("/status"); return s == 418 })
	start = time.Now()
	if s, b := g.get("/status"); s != 418 || b != "late\n" || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("delay then abort: %d %q after %v", s, b, time.Since(start))
	}
	g.waitServes("/hello1", 200, "hello1 world")
}

// portsOf sends n requests on one keep-alive connection (one loop, so one
// round robin position) and returns the sorted answers.
func portsOf(t *testing.T, addr, path string, n int) string {
	t.Helper()
	reqs := make([]string, n)
	for i := range reqs {
		reqs[i] = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"
	}
	got := rawExchanges(t, addr, reqs...)
	for i := range got {
		got[i] = strings.TrimPrefix(got[i], "200 ")
	}
	slices.Sort(got)
	return strings.Join(got, ", ")
}

func TestTrafficSplitE2E(t *testing.T) {
	g := startEtcdGateway(t, "traditional", "", "")
	a, b, c := startOrigin(t), startOrigin(t), startOrigin(t)
	pa, pb, pc := fmt.Sprint(a.port), fmt.Sprint(b.port), fmt.Sprint(c.port)
	nodes := func(o *testOrigin) string { return `{"type": "roundrobin", "nodes": {"` + o.addr + `": 1}}` }

	// traffic-split.t TEST 8-10: a match rule, an inline upstream at
	// weight 2 and the route's own at weight 1.
	putRoute(g, "1", `{"uri": "/server_port", "upstream": `+nodes(a)+`, "plugins": {"traffic-split": {"rules": [{
		"match": [{"vars": [["arg_name", "==", "jack"], ["arg_age", "!", "<", "16"]]}],
		"weighted_upstreams": [{"upstream": {"name": "upstream_B", "type": "roundrobin", "nodes": {"`+b.addr+`": 2}}, "weight": 2}, {"weight": 1}]}]}}}`)
	g.waitServes("/server_port?name=jack&age=16", 200, pb)
	if got, want := portsOf(t, g.addr, "/server_port?name=jack&age=14", 3), strings.Join([]string{pa, pa, pa}, ", "); got != want {
		t.Errorf("match fails: %s, want %s", got, want)
	}
	want := []string{pa, pa, pb, pb, pb, pb}
	slices.Sort(want)
	if got := portsOf(t, g.addr, "/server_port?name=jack&age=16", 6); got != strings.Join(want, ", ") {
		t.Errorf("weights 2:1: %s, want %s", got, strings.Join(want, ", "))
	}

	// Upstreams by id, and a change of one is where the route's requests
	// go next (the builder recompiles the route; traffic-split4.t).
	if code, resp := g.adminCall("PUT", "/apisix/admin/upstreams/1", nodes(b)); code >= 300 {
		t.Fatalf("PUT upstream: %d %s", code, resp)
	}
	// Route 2 shares /server_port, for requests with r=2 (route vars).
	putRoute(g, "2", `{"uri": "/server_port", "vars": [["arg_r", "==", "2"]], "priority": 1, "upstream": `+nodes(a)+`, "plugins": {"traffic-split": {"rules": [
		{"match": [{"vars": [["arg_x", "==", "1"]]}], "weighted_upstreams": [{"upstream_id": "1"}]},
		{"match": [{"vars": [["http_x-api-appkey", "==", "k"]]}], "weighted_upstreams": [{"upstream_id": 1, "weight": 1}, {"weight": 1}]}]}}}`)
	g.waitServes("/server_port?r=2&x=1", 200, pb)
	if got := portsOf(t, g.addr, "/server_port?r=2", 2); got != pa+", "+pa {
		t.Errorf("no rule taken: %s, want the route's %s", got, pa)
	}
	reqs := []string{"GET /server_port?r=2 HTTP/1.1\r\nHost: x\r\nX-Api-Appkey: k\r\n\r\n", "GET /server_port?r=2 HTTP/1.1\r\nHost: x\r\nX-Api-Appkey: k\r\n\r\n"}
	got := rawExchanges(t, g.addr, reqs...)
	slices.Sort(got)
	wantAB := []string{"200 " + pa, "200 " + pb}
	slices.Sort(wantAB)
	if !slices.Equal(got, wantAB) {
		t.Errorf("header rule, weights 1:1: %q, want %q", got, wantAB)
	}
	if code, resp := g.adminCall("PUT", "/apisix/admin/upstreams/1", nodes(c)); code >= 300 {
		t.Fatalf("PUT upstream: %d %s", code, resp)
	}
	g.waitServes("/server_port?r=2&x=1", 200, pc)

	// traffic-split2.t TEST 20: an upstream_id that does not exist is a
	// 500 with APISIX's text; once it exists the rule uses it.
	putRoute(g, "3", `{"uri": "/server_port", "vars": [["arg_r", "==", "3"]], "priority": 1, "upstream": `+nodes(a)+`, "plugins": {"traffic-split": {"rules": [
		{"weighted_upstreams": [{"upstream_id": "invalid-id", "weight": 1}]}]}}}`)
	g.waitServes("/server_port?r=3", 500, "failed to fetch upstream info by upstream id: invalid-id")
	if code, resp := g.adminCall("PUT", "/apisix/admin/upstreams/invalid-id", nodes(b)); code >= 300 {
		t.Fatalf("PUT upstream: %d %s", code, resp)
	}
	g.waitServes("/server_port?r=3", 200, pb)

	// The Admin API checks the vars and the inline upstreams.
	expectRefusal(g, "9", `{"uri": "/x", "upstream": `+nodes(a)+`, "plugins": {"traffic-split": {"rules": [{"match": [{"vars": [["arg_name", 123, "jack"]]}], "weighted_upstreams": [{"weight": 1}]}]}}}`,
		`failed to check the configuration of plugin traffic-split err: failed to validate the 'vars' expression: invalid operator '123'`)
	expectRefusal(g, "9", `{"uri": "/x", "upstream": `+nodes(a)+`, "plugins": {"traffic-split": {"rules": [{"weighted_upstreams": [{"upstream": {"type": "roundrobin"}}]}]}}}`,
		`failed to check the configuration of plugin traffic-split err: property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: failed to validate item 1: property "upstream" validation failed: value should match only one schema, but matches none`)
}

// TestRealIPBehindTrustedAddressesE2E is real-ip.t TEST 24: with
// apisix.trusted_addresses set, APISIX (3.18, init.lua
// handle_trusted_x_forwarded_headers) drops the X-Forwarded-For of a peer
// outside them before any plugin runs, so real-ip finds no address and
// ip-restriction refuses the connection's.
func TestRealIPBehindTrustedAddressesE2E(t *testing.T) {
	o := startOrigin(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "apisix.yaml"), `routes:
  - id: 1
    uri: /hello
    upstream:
      nodes:
        "`+o.addr+`": 1
      type: roundrobin
    plugins:
      real-ip:
        trusted_addresses: ["192.128.0.0/16", "127.0.0.0/24"]
        source: http_x_forwarded_for
      ip-restriction:
        whitelist: ["1.1.1.1"]
#END
`)
	g := startGateway(t, dir, "  trusted_addresses:\n    - \"192.128.0.0/16\"\ndeployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n")
	g.waitServes("/hello", 403, "")
	req, _ := http.NewRequest("GET", "http://"+g.addr+"/hello", nil)
	req.Header.Set("X-Forwarded-For", "1.1.1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("status %d: the untrusted peer's X-Forwarded-For reached real-ip", resp.StatusCode)
	}
}
