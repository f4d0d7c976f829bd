package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The traffic-control plugins (limit-count, limit-req, limit-conn) against
// the real binary, real upstreams and, for the Redis policies, a real
// redis-server: APISIX's t/plugin/limit-*.t cases, by status, headers and
// body.

// limitClient bounds every request: a request parked for good (a Redis
// call that never came back) fails the test instead of hanging it.
var limitClient = &http.Client{Timeout: 10 * time.Second}

// hit is one response through the proxy.
type hit struct {
	status int
	header http.Header
	body   string
}

func (g *gatewayProc) hit(path string, headers ...string) hit {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+g.addr+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := limitClient.Do(req)
	if err != nil {
		g.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return hit{resp.StatusCode, resp.Header, string(b)}
}

// statuses sends n requests and returns their statuses.
func (g *gatewayProc) statuses(path string, n int) []int {
	g.t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = g.hit(path).status
	}
	return out
}

// putRoute creates or replaces route id through the Admin API, to the
// origin, and fails the test unless it is accepted.
func (g *etcdGateway) putRoute(id, uri, plugins string, o *testOrigin) {
	g.t.Helper()
	body := fmt.Sprintf(`{"uri": %q, "plugins": %s, "upstream": {"type": "roundrobin", "nodes": {%q: 1}}}`, uri, plugins, o.addr)
	if code, resp := g.adminCall(http.MethodPut, "/apisix/admin/routes/"+id, body); code >= 300 {
		g.t.Fatalf("PUT route %s: %d %s", id, code, resp)
	}
}

// errorPage is what the gateway answers a status with when no body is set
// (nginx's page, which APISIX sends for a bare rejected_code).
func errorPage(status int) string {
	title := fmt.Sprintf("%d %s", status, http.StatusText(status))
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>sluice</center>\r\n</body>\r\n</html>\r\n"
}

func quota(h hit) string {
	return h.header.Get("X-RateLimit-Limit") + "/" + h.header.Get("X-RateLimit-Remaining") + "/" + h.header.Get("X-RateLimit-Reset")
}

// t/plugin/limit-count.t, limit-count2.t: the quota in headers, the
// rejection (error page or rejected_msg), a changed conf starting over,
// metadata header names, and the Admin API's refusals.
func TestLimitCountLocal(t *testing.T) {
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	g.putRoute("1", "/hello", `{"limit-count": {"count": 2, "time_window": 60, "rejected_code": 503, "key": "remote_addr"}}`, o)
	g.waitServes("/hello", 200, "hello world")
	// waitServes took one of the two.
	h := g.hit("/hello")
	if h.status != 200 || h.body != "hello world\n" || quota(h) != "2/0/"+h.header.Get("X-RateLimit-Reset") {
		t.Fatalf("second: %d %q %s", h.status, h.body, quota(h))
	}
	h = g.hit("/hello")
	if h.status != 503 || h.body != errorPage(503) || h.header.Get("X-RateLimit-Remaining") != "0" || h.header.Get("X-RateLimit-Limit") != "2" {
		t.Fatalf("third: %d %q %s", h.status, h.body, quota(h))
	}
	if h.header.Get("X-RateLimit-Reset") == "" || h.header.Get("X-RateLimit-Reset") == "0" {
		t.Fatalf("reset on rejection: %q", h.header.Get("X-RateLimit-Reset"))
	}

	// A changed conf starts over (limit-count.t TEST 21-23), with
	// rejected_msg (limit-count2.t TEST 3-5).
	g.putRoute("1", "/hello", `{"limit-count": {"count": 1, "time_window": 600, "rejected_code": 503,
		"rejected_msg": "Requests are too frequent, please try again later.", "key": "remote_addr"}}`, o)
	g.waitServes("/hello", 200, "hello world")
	h = g.hit("/hello")
	if want := `{"error_msg":"Requests are too frequent, please try again later."}` + "\n"; h.status != 503 || h.body != want {
		t.Fatalf("rejected_msg: %d %q", h.status, h.body)
	}

	// Header names from plugin_metadata.
	if code, body := g.adminCall(http.MethodPut, "/apisix/admin/plugin_metadata/limit-count",
		`{"limit_header": "X-Limit-Quota", "remaining_header": "X-Limit-Left", "reset_header": "X-Limit-Reset"}`); code >= 300 {
		t.Fatalf("metadata: %d %s", code, body)
	}
	g.putRoute("2", "/hello1", `{"limit-count": {"count": 5, "time_window": 60}}`, o)
	waitUntil(t, "metadata header names", func() bool {
		h := g.hit("/hello1")
		return h.status == 200 && h.header.Get("X-Limit-Quota") == "5" && h.header.Get("X-RateLimit-Limit") == ""
	})

	// Refusals, with APISIX's texts.
	for _, tc := range []struct{ plugins, msg string }{
		{`{"limit-count": {"time_window": 60, "rejected_code": 503, "key": "remote_addr"}}`,
			`value should match only one schema, but matches none`},
		{`{"limit-count": {"count": -100, "time_window": 60}}`,
			`property \"count\" validation failed: value should match only one schema, but matches none`},
		{`{"limit-count": {"count": 2, "time_window": 60, "rejected_msg": true}}`,
			`property \"rejected_msg\" validation failed: wrong type: expected string, got boolean`},
		{`{"limit-count": {"count": 2, "time_window": 60, "policy": "redis"}}`, `then clause did not match`},
		{`{"limit-count": {"count": 2, "time_window": 5, "rules": [{"count": 1, "time_window": 10, "key": "${http_company}"}]}}`,
			`count/time_window and rules cannot be specified at the same time`},
	} {
		body := fmt.Sprintf(`{"uri": "/x", "plugins": %s, "upstream": {"nodes": {%q: 1}}}`, tc.plugins, o.addr)
		code, resp := g.adminCall(http.MethodPut, "/apisix/admin/routes/bad", body)
		want := `{"error_msg":"failed to check the configuration of plugin limit-count err: ` + tc.msg + `"}`
		if code != 400 || strings.TrimSpace(resp) != want {
			t.Errorf("%s: %d %s\nwant 400 %s", tc.plugins, code, resp, want)
		}
	}
}

// limit-count2.t TEST 15-21: routes of a group share one counter, and the
// group's confs must match.
func TestLimitCountGroup(t *testing.T) {
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	group := `{"limit-count": {"count": 2, "time_window": 60, "rejected_code": 503, "group": "services_1"}}`
	g.putRoute("1", "/hello", group, o)
	g.putRoute("2", "/hello_chunked", group, o)
	waitUntil(t, "both routes", func() bool {
		return g.hit("/status").status == 404 && routeServes(g, "/hello_chunked")
	})
	// routeServes took one; three more alternate between the routes.
	got := []int{g.hit("/hello").status, g.hit("/hello_chunked").status, g.hit("/hello").status}
	if fmt.Sprint(got) != "[200 503 503]" {
		t.Fatalf("statuses %v", got)
	}
	code, body := g.adminCall(http.MethodPut, "/apisix/admin/routes/3", fmt.Sprintf(
		`{"uri": "/status", "plugins": {"limit-count": {"count": 1, "time_window": 60, "rejected_code": 503, "group": "services_1"}},
		  "upstream": {"nodes": {%q: 1}}}`, o.addr))
	if want := `{"error_msg":"failed to check the configuration of plugin limit-count err: group conf mismatched"}`; code != 400 || strings.TrimSpace(body) != want {
		t.Fatalf("mismatched group conf: %d %s", code, body)
	}
}

func routeServes(g *etcdGateway, path string) bool { return g.hit(path).status == 200 }

// Two sluice nodes on one etcd and one Redis enforce one limit together.
func TestLimitCountRedisSharedByTwoNodes(t *testing.T) {
	rd := startRedis(t)
	o := startOrigin(t)
	a := startEtcdGateway(t, "traditional", "", "")
	b := startEtcdGateway(t, "data_plane", a.endpoint, "")
	a.putRoute("1", "/hello", fmt.Sprintf(`{"limit-count": {"count": 4, "time_window": 60, "rejected_code": 503,
		"policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d, "redis_timeout": 1001}}`, rd.port), o)
	a.waitServes("/hello", 200, "hello world")
	b.waitServes("/hello", 200, "hello world")
	// Two of the four are spent; the next two go one to each node.
	ha, hb := a.hit("/hello"), b.hit("/hello")
	if ha.status != 200 || hb.status != 200 || ha.header.Get("X-RateLimit-Remaining") != "1" || hb.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("a: %d %s, b: %d %s", ha.status, quota(ha), hb.status, quota(hb))
	}
	if h := a.hit("/hello"); h.status != 503 || h.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("node a over the shared limit: %d %s", h.status, quota(h))
	}
	if h := b.hit("/hello"); h.status != 503 {
		t.Fatalf("node b over the shared limit: %d", h.status)
	}
	// The counter is APISIX's key: plugin-limit-count:v1:<route key>:<crc>:<addr>.
	if keys := rd.do("KEYS", "plugin-limit-count:v1:/apisix/routes/1:*:127.0.0.1"); keys == "" {
		t.Fatalf("no APISIX-style key in Redis")
	}
}

// Redis down: 500 {"error_msg":"failed to limit count"}, or the request
// goes through without quota headers under allow_degradation.
func TestLimitCountRedisDown(t *testing.T) {
	rd := startRedis(t)
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	conf := func(degrade bool) string {
		return fmt.Sprintf(`{"limit-count": {"count": 10, "time_window": 60, "policy": "redis", "redis_host": "127.0.0.1",
			"redis_port": %d, "redis_timeout": 200, "allow_degradation": %v}}`, rd.port, degrade)
	}
	g.putRoute("1", "/hello", conf(false), o)
	g.putRoute("2", "/hello1", conf(true), o)
	g.waitServes("/hello", 200, "hello world")
	g.waitServes("/hello1", 200, "hello1 world")
	rd.stop()
	if h := g.hit("/hello"); h.status != 500 || h.body != `{"error_msg":"failed to limit count"}`+"\n" {
		t.Fatalf("redis down: %d %q", h.status, h.body)
	}
	if h := g.hit("/hello1"); h.status != 200 || h.body != "hello1 world\n" || h.header.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("redis down, allow_degradation: %d %q %s", h.status, h.body, quota(h))
	}
	// Redis back: counting resumes.
	rd.start()
	waitUntil(t, "counting again", func() bool {
		h := g.hit("/hello")
		return h.status == 200 && h.header.Get("X-RateLimit-Limit") == "10"
	})
}

// limit-count-redis-cluster.t: the counter on a Redis Cluster.
func TestLimitCountRedisCluster(t *testing.T) {
	nodes := startRedisCluster(t, 3)
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, fmt.Sprintf("%q", n.addr))
	}
	g.putRoute("1", "/hello", fmt.Sprintf(`{"limit-count": {"count": 3, "time_window": 60, "rejected_code": 503, "key": "remote_addr",
		"policy": "redis-cluster", "redis_cluster_nodes": [%s], "redis_cluster_name": "redis-cluster-1"}}`, strings.Join(addrs, ", ")), o)
	g.waitServes("/hello", 200, "hello world")
	if got := fmt.Sprint(g.statuses("/hello", 3)); got != "[200 200 503]" {
		t.Fatalf("statuses %s", got)
	}
	// Many keys land on every node's slots; each is counted where it lives.
	g.putRoute("2", "/hello1", fmt.Sprintf(`{"limit-count": {"count": 1, "time_window": 60, "key": "http_user", "key_type": "var",
		"policy": "redis-cluster", "redis_cluster_nodes": [%s], "redis_cluster_name": "redis-cluster-1"}}`, strings.Join(addrs, ", ")), o)
	g.waitServes("/hello1", 200, "hello1 world")
	var wg sync.WaitGroup
	results := make([][2]int, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprint("user-", i)
			results[i] = [2]int{g.hit("/hello1", "User", user).status, g.hit("/hello1", "User", user).status}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r != [2]int{200, 503} {
			t.Fatalf("user-%d: %v", i, r)
		}
	}
}

// t/plugin/limit-req.t: past rate and burst requests are rejected; within
// burst they wait (off the loop) and pass.
func TestLimitReq(t *testing.T) {
	rd := startRedis(t)
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	// TEST 5-6: rate 0.1, burst 0.1: one passes, the rest are rejected.
	g.putRoute("1", "/hello", `{"limit-req": {"rate": 0.1, "burst": 0.1, "rejected_code": 503, "key": "remote_addr"}}`, o)
	g.waitServes("/hello", 200, "hello world")
	for i := range 3 {
		if h := g.hit("/hello"); h.status != 503 || h.body != errorPage(503) {
			t.Fatalf("request %d: %d %q", i, h.status, h.body)
		}
	}
	// TEST 3-4: rate 4, burst 2: requests in a row are delayed, not rejected.
	g.putRoute("2", "/hello1", `{"limit-req": {"rate": 4, "burst": 2, "rejected_code": 503, "key": "remote_addr"}}`, o)
	g.waitServes("/hello1", 200, "hello1 world")
	if got := fmt.Sprint(g.statuses("/hello1", 4)); got != "[200 200 200 200]" {
		t.Fatalf("within burst: %s", got)
	}
	// nodelay with rejected_msg: no waiting, and past burst the message.
	g.putRoute("3", "/status", `{"limit-req": {"rate": 0.1, "burst": 1, "nodelay": true, "rejected_code": 429,
		"rejected_msg": "Requests are too frequent, please try again later.", "key": "remote_addr"}}`, o)
	g.waitServes("/status", 200, "ok")
	if h := g.hit("/status"); h.status != 200 {
		t.Fatalf("burst: %d", h.status)
	}
	if h := g.hit("/status"); h.status != 429 || h.body != `{"error_msg":"Requests are too frequent, please try again later."}`+"\n" {
		t.Fatalf("past burst: %d %q", h.status, h.body)
	}
	// The redis policy (limit-req-redis.t), counted in APISIX's hash.
	g.putRoute("4", "/server_port", fmt.Sprintf(`{"limit-req": {"rate": 0.1, "burst": 0, "key": "remote_addr", "rejected_code": 503,
		"policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d}}`, rd.port), o)
	waitUntil(t, "redis route", func() bool { return g.hit("/server_port").status != 404 })
	if h := g.hit("/server_port"); h.status != 503 {
		t.Fatalf("redis policy past the rate: %d", h.status)
	}
	if keys := rd.do("KEYS", "limit_req:/apisix/routes/4:*"); keys == "" {
		t.Fatal("no limit_req key in Redis")
	}
	rd.stop()
	if h := g.hit("/server_port"); h.status != 500 {
		t.Fatalf("redis down: %d", h.status)
	}
	code, body := g.adminCall(http.MethodPut, "/apisix/admin/routes/bad", fmt.Sprintf(
		`{"uri": "/x", "plugins": {"limit-req": {"rate": -1, "burst": 0.1, "key": "remote_addr"}}, "upstream": {"nodes": {%q: 1}}}`, o.addr))
	if want := `{"error_msg":"failed to check the configuration of plugin limit-req err: property \"rate\" validation failed: expected -1 to be greater than 0"}`; code != 400 || strings.TrimSpace(body) != want {
		t.Fatalf("refusal: %d %s", code, body)
	}
}

// heldOrigin answers /held only when the test releases it, and anything
// else at once; arrived receives each held request as it comes in.
type heldOrigin struct {
	addr    string
	arrived chan struct{}
	release chan struct{}
}

func startHeldOrigin(t *testing.T) *heldOrigin {
	t.Helper()
	h := &heldOrigin{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/held" {
			h.arrived <- struct{}{}
			select {
			case <-h.release:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "done\n")
	})}
	ln := listenLoopback(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.addr = ln.Addr().String()
	return h
}

// holdOne sends GET /held through g until one reaches the upstream and is
// held there (an earlier request may still be counted in: its log phase
// runs after its response, and on Redis it is released asynchronously),
// and returns the channel its response will arrive on.
func holdOne(t *testing.T, g *gatewayProc, up *heldOrigin) chan hit {
	t.Helper()
	var first chan hit
	waitUntil(t, "a request held at the upstream", func() bool {
		first = make(chan hit, 1)
		go func() { first <- g.hit("/held") }()
		select {
		case <-up.arrived:
			return true
		case h := <-first:
			if h.status != 503 {
				t.Errorf("held request answered %d %q", h.status, h.body)
			}
			return false
		}
	})
	return first
}

// t/plugin/limit-conn.t: conn 1, burst 0: while one request is in flight
// another is rejected; once it is over (its log phase ran, also when its
// client went away) the next one passes.
func TestLimitConn(t *testing.T) {
	up := startHeldOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	body := fmt.Sprintf(`{"uris": ["/held", "/quick"], "plugins": {"limit-conn": {"conn": 1, "burst": 0, "default_conn_delay": 0.1,
		"rejected_code": 503, "rejected_msg": "busy", "key": "remote_addr"}}, "upstream": {"nodes": {%q: 1}}}`, up.addr)
	if code, resp := g.adminCall(http.MethodPut, "/apisix/admin/routes/1", body); code >= 300 {
		t.Fatalf("route: %d %s", code, resp)
	}
	g.waitServes("/quick", 200, "done")

	first := holdOne(t, g.gatewayProc, up)
	if h := g.hit("/quick"); h.status != 503 || h.body != `{"error_msg":"busy"}`+"\n" {
		t.Fatalf("second in flight: %d %q", h.status, h.body)
	}
	up.release <- struct{}{}
	if h := <-first; h.status != 200 {
		t.Fatalf("first: %d", h.status)
	}
	waitUntil(t, "the first request logged out", func() bool { return g.hit("/quick").status == 200 })

	// A client that goes away mid-request is counted out too.
	var cancel context.CancelFunc
	var gone chan int
	waitUntil(t, "a request held at the upstream", func() bool {
		var ctx context.Context
		ctx, cancel = contextWithCancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.addr+"/held", nil)
		gone = make(chan int, 1)
		go func() {
			resp, err := limitClient.Do(req)
			if err != nil {
				gone <- 0
				return
			}
			resp.Body.Close()
			gone <- resp.StatusCode
		}()
		select {
		case <-up.arrived:
			return true
		case <-gone:
			cancel()
			return false
		}
	})
	if h := g.hit("/quick"); h.status != 503 {
		t.Fatalf("while held: %d", h.status)
	}
	cancel()
	<-gone
	waitUntil(t, "the abandoned request logged out", func() bool { return g.hit("/quick").status == 200 })
	code, resp := g.adminCall(http.MethodPut, "/apisix/admin/routes/bad", fmt.Sprintf(
		`{"uri": "/x", "plugins": {"limit-conn": {"conn": 1, "burst": 0, "key": "remote_addr"}}, "upstream": {"nodes": {%q: 1}}}`, up.addr))
	if want := `{"error_msg":"failed to check the configuration of plugin limit-conn err: value should match only one schema, but matches none"}`; code != 400 || strings.TrimSpace(resp) != want {
		t.Fatalf("refusal: %d %s", code, resp)
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// APISIX's limit-count docs, "Share Quota among Routes": the conf on a
// service is the service's, so the routes bound to it share one counter.
func TestLimitCountServiceSharesQuota(t *testing.T) {
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	if code, body := g.adminCall(http.MethodPut, "/apisix/admin/services/1", fmt.Sprintf(
		`{"plugins": {"limit-count": {"count": 2, "time_window": 60, "rejected_code": 429}}, "upstream": {"nodes": {%q: 1}}}`, o.addr)); code >= 300 {
		t.Fatalf("service: %d %s", code, body)
	}
	for id, uri := range map[string]string{"1": "/hello", "2": "/hello1"} {
		if code, body := g.adminCall(http.MethodPut, "/apisix/admin/routes/"+id, fmt.Sprintf(`{"uri": %q, "service_id": "1"}`, uri)); code >= 300 {
			t.Fatalf("route %s: %d %s", id, code, body)
		}
	}
	g.waitServes("/hello1", 200, "hello1 world")
	got := []int{g.hit("/hello").status, g.hit("/hello1").status, g.hit("/hello").status}
	if fmt.Sprint(got) != "[200 429 429]" {
		t.Fatalf("statuses %v (one spent by waitServes)", got)
	}
	// A route's own conf is the route's: counted apart.
	g.putRoute("3", "/status", `{"limit-count": {"count": 2, "time_window": 60, "rejected_code": 429}}`, o)
	g.waitServes("/status", 200, "ok")
	if h := g.hit("/status"); h.status != 200 {
		t.Fatalf("route's own conf shares the service's counter: %d", h.status)
	}
}

// limit-conn-redis.t: the in-flight count on Redis, shared by two nodes.
func TestLimitConnRedisSharedByTwoNodes(t *testing.T) {
	rd := startRedis(t)
	up := startHeldOrigin(t)
	a := startEtcdGateway(t, "traditional", "", "")
	b := startEtcdGateway(t, "data_plane", a.endpoint, "")
	body := fmt.Sprintf(`{"uris": ["/held", "/quick"], "plugins": {"limit-conn": {"conn": 1, "burst": 0, "default_conn_delay": 0.1,
		"rejected_code": 503, "key": "remote_addr", "policy": "redis", "redis_host": "127.0.0.1", "redis_port": %d}},
		"upstream": {"nodes": {%q: 1}}}`, rd.port, up.addr)
	if code, resp := a.adminCall(http.MethodPut, "/apisix/admin/routes/1", body); code >= 300 {
		t.Fatalf("route: %d %s", code, resp)
	}
	a.waitServes("/quick", 200, "done")
	b.waitServes("/quick", 200, "done")
	first := holdOne(t, a.gatewayProc, up)
	if h := b.hit("/quick"); h.status != 503 {
		t.Fatalf("the other node while one is in flight: %d", h.status)
	}
	up.release <- struct{}{}
	if h := <-first; h.status != 200 {
		t.Fatalf("first: %d", h.status)
	}
	waitUntil(t, "released on Redis", func() bool { return b.hit("/quick").status == 200 })
}
