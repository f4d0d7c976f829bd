package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluicegw/sluice/internal/testport"
)

// rawClient neither asks for nor undoes compression: the tests see the
// bytes the gateway sends.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

type rawReply struct {
	status int
	header http.Header
	body   []byte
}

func (g *gatewayProc) do(t *testing.T, method, path string, hdr map[string]string, body string) rawReply {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+g.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawReply{resp.StatusCode, resp.Header, b}
}

func gunzipBody(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v (%q)", err, b)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("corrupt gzip: %v", err)
	}
	return string(out)
}

// mustAdmin sends an Admin API request and fails unless it answers want.
func (g *etcdGateway) mustAdmin(method, path, body string, want int) string {
	g.t.Helper()
	code, resp := g.adminCall(method, path, body)
	if code != want {
		g.t.Fatalf("%s %s: %d %s", method, path, code, resp)
	}
	return resp
}

// t/plugin/gzip.t's cases against the real binary, plus a chunked upstream
// body, a gateway answer and the Admin API's refusals.
func TestGzip(t *testing.T) {
	o := startOrigin(t)
	g := startEtcdGateway(t, "traditional", "", "")
	route := func(id, uri, conf string) {
		t.Helper()
		code, resp := g.adminCall("PUT", "/apisix/admin/routes/"+id, fmt.Sprintf(`{"uri": %q, "plugins": {"gzip": %s}, "upstream": {"nodes": {%q: 1}}}`, uri, conf, o.addr))
		if code != 200 && code != 201 {
			t.Fatalf("route %s: %d %s", id, code, resp)
		}
	}
	route("1", "/echo", `{}`)
	g.waitServes("/hello", 404, "")
	waitUntil(t, "route 1", func() bool { return g.do(t, "POST", "/echo", nil, "x").status == 200 })

	const body = "0123456789\n012345678" // 20 bytes, TEST 2's
	html := map[string]string{"Accept-Encoding": "gzip", "Content-Type": "text/html"}
	r := g.do(t, "POST", "/echo", html, body)
	if r.header.Get("Content-Encoding") != "gzip" || r.header.Get("Vary") != "" || r.header.Get("Content-Length") != "" {
		t.Fatalf("TEST 2: %d %v", r.status, r.header)
	}
	if got := gunzipBody(t, r.body); got != body {
		t.Fatalf("decompressed %q", got)
	}
	// Off without Accept-Encoding, or with gzip refused.
	for _, ae := range []string{"", "gzip;q=0", "br"} {
		h := map[string]string{"Content-Type": "text/html"}
		if ae != "" {
			h["Accept-Encoding"] = ae
		}
		if r := g.do(t, "POST", "/echo", h, body); r.header.Get("Content-Encoding") != "" || string(r.body) != body {
			t.Fatalf("Accept-Encoding %q: %v %q", ae, r.header, r.body)
		}
	}

	// A chunked upstream body, compressed as it streams: TEST 16's "*" and
	// a body large enough to arrive in many pieces.
	route("1", "/echo", `{"types": "*", "vary": true}`)
	big := strings.Repeat("sluice streams gzip in the body filter; ", 8000)
	waitUntil(t, "route 1 with vary", func() bool {
		return g.do(t, "POST", "/echo", map[string]string{"Accept-Encoding": "gzip", "Content-Type": "video/3gpp"}, body).header.Get("Vary") != ""
	})
	r = g.do(t, "POST", "/echo", map[string]string{"Accept-Encoding": "gzip", "Content-Type": "application/octet-stream", "Vary": "upstream"}, big)
	if r.header.Get("Content-Encoding") != "gzip" || strings.Join(r.header.Values("Vary"), ", ") != "upstream, Accept-Encoding" {
		t.Fatalf("TEST 18: %v", r.header)
	}
	if got := gunzipBody(t, r.body); got != big {
		t.Fatalf("chunked body: %d bytes back of %d", len(got), len(big))
	}
	if len(r.body) > len(big)/10 {
		t.Fatalf("%d bytes compressed to %d", len(big), len(r.body))
	}
	route("3", "/hello_chunked", `{"types": "*"}`)
	waitUntil(t, "route 3", func() bool { return g.do(t, "GET", "/hello_chunked", nil, "").status == 200 })
	r = g.do(t, "GET", "/hello_chunked", map[string]string{"Accept-Encoding": "gzip"}, "")
	if r.header.Get("Content-Encoding") != "gzip" || gunzipBody(t, r.body) != "hello world\n" {
		t.Fatalf("/hello_chunked: %v %q", r.header, r.body)
	}

	// min_length (TEST 7) and types (TEST 12, 13, 14).
	route("1", "/echo", `{"min_length": 21, "types": ["text/plain", "text/xml"]}`)
	waitUntil(t, "route 1 updated", func() bool {
		return g.do(t, "POST", "/echo", map[string]string{"Accept-Encoding": "gzip", "Content-Type": "text/xml"}, body+"!").header.Get("Content-Encoding") == "gzip"
	})
	for ct, want := range map[string]bool{"text/html": false, "text/xml": true, "text/plain; charset=UTF-8": true} {
		r := g.do(t, "POST", "/echo", map[string]string{"Accept-Encoding": "gzip", "Content-Type": ct}, body+"!")
		if (r.header.Get("Content-Encoding") == "gzip") != want {
			t.Errorf("%s: %v", ct, r.header)
		}
	}
	if r := g.do(t, "POST", "/echo", map[string]string{"Accept-Encoding": "gzip", "Content-Type": "text/xml"}, body); r.header.Get("Content-Encoding") != "" {
		t.Errorf("TEST 7: 20 bytes < min_length 21 compressed")
	}

	// A gateway answer qualifies like an upstream's: the 404 of an
	// unmatched request, through a global rule's gzip.
	g.mustAdmin("PUT", "/apisix/admin/global_rules/1", `{"plugins": {"gzip": {"types": ["text/plain"]}}}`, 201)
	waitUntil(t, "global rule", func() bool {
		return g.do(t, "GET", "/nowhere", map[string]string{"Accept-Encoding": "gzip"}, "").header.Get("Content-Encoding") == "gzip"
	})
	r = g.do(t, "GET", "/nowhere", map[string]string{"Accept-Encoding": "gzip"}, "")
	if r.status != 404 || gunzipBody(t, r.body) != "{\"error_msg\":\"404 Route Not Found\"}\n" {
		t.Fatalf("404: %d %q", r.status, r.body)
	}

	// TEST 19: the Admin API refuses bad confs with APISIX's texts.
	for conf, msg := range map[string]string{
		`{"types": []}`:              `property \"types\" validation failed: object matches none of the required`,
		`{"min_length": 0}`:          `property \"min_length\" validation failed: expected 0 to be at least 1`,
		`{"comp_level": 10}`:         `property \"comp_level\" validation failed: expected 10 to be at most 9`,
		`{"http_version": 2}`:        `property \"http_version\" validation failed: matches none of the enum values`,
		`{"buffers": {"number": 0}}`: `property \"buffers\" validation failed: property \"number\" validation failed: expected 0 to be at least 1`,
		`{"vary": 0}`:                `property \"vary\" validation failed: wrong type: expected boolean, got number`,
	} {
		code, resp := g.adminCall("PUT", "/apisix/admin/global_rules/1", `{"id": "1", "plugins": {"gzip": `+conf+`}}`)
		want := `{"error_msg":"failed to check the configuration of plugin gzip err: ` + msg + `"}`
		if code != 400 || strings.TrimSpace(resp) != want {
			t.Errorf("%s: %d %s\nwant %s", conf, code, resp, want)
		}
	}
}

// scrape reads the exporter and parses it with the Prometheus text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/apisix/prometheus/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, b)
	}
	return fams
}

// metric returns the series of name whose labels include want.
func metric(fams map[string]*dto.MetricFamily, name string, want ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i < len(want); i += 2 {
			if got[want[i]] != want[i+1] {
				continue next
			}
		}
		return m
	}
	return nil
}

func counter(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	if m := metric(fams, name, want...); m != nil {
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
		if m.Gauge != nil {
			return m.Gauge.GetValue()
		}
	}
	return -1
}

func hasPlugin(t *testing.T, g *etcdGateway, name string) bool {
	t.Helper()
	resp := g.mustAdmin("GET", "/apisix/admin/plugins/list", "", 200)
	var list []string
	if err := json.Unmarshal([]byte(resp), &list); err != nil {
		t.Fatalf("plugins list %s: %v", resp, err)
	}
	for _, n := range list {
		if n == name {
			return true
		}
	}
	return false
}

// prometheus.t and prometheus2.t's metrics against the real binary: two
// routes, unmatched requests, the consumer label, the exporter's address.
func TestPrometheus(t *testing.T) {
	o := startOrigin(t)
	export := "127.0.0.1:" + strconv.Itoa(testport.Port(t))
	host, port, _ := net.SplitHostPort(export)
	g := startEtcdGateway(t, "traditional", "", fmt.Sprintf("plugin_attr:\n  prometheus:\n    export_addr: {ip: %s, port: %s}\n", host, port))
	for id, uri := range map[string]string{"1": "/hello", "2": "/hello1"} {
		g.mustAdmin("PUT", "/apisix/admin/routes/"+id, fmt.Sprintf(`{"uri": %q, "plugins": {"prometheus": {}}, "upstream": {"nodes": {%q: 1}}}`, uri, o.addr), 201)
	}
	// Unmatched requests are counted by a global rule's prometheus, with
	// route "" (prometheus2.t); routes with their own conf are not counted
	// twice (prefer_route).
	g.mustAdmin("PUT", "/apisix/admin/global_rules/1", `{"plugins": {"prometheus": {}}}`, 201)
	g.waitServes("/hello1", 200, "hello1 world")
	waitUntil(t, "the global rule", func() bool {
		g.get("/nowhere")
		return counter(scrape(t, export), "apisix_http_status", "code", "404", "route", "") > 0
	})
	base := scrape(t, export)
	before := func(name string, labels ...string) float64 { return max(counter(base, name, labels...), 0) }

	for range 3 {
		if code, _ := g.get("/hello"); code != 200 {
			t.Fatal(code)
		}
	}
	g.get("/hello1")
	g.get("/nowhere")
	g.get("/nowhere")
	var fams map[string]*dto.MetricFamily
	// Route 1 saw no request before these three; the others may have had
	// one counted just after base was read (log runs after the response).
	waitUntil(t, "the requests counted", func() bool {
		fams = scrape(t, export)
		return counter(fams, "apisix_http_status", "code", "404", "route", "") >= before("apisix_http_status", "code", "404", "route", "")+2 &&
			counter(fams, "apisix_http_status", "code", "200", "route", "2") >= before("apisix_http_status", "code", "200", "route", "2")+1 &&
			counter(fams, "apisix_http_status", "route", "1") == 3
	})
	if got := counter(fams, "apisix_http_status", "code", "200", "route", "1", "matched_uri", "/hello", "matched_host", "", "service", "", "consumer", "",
		"node", "127.0.0.1", "request_type", "traditional_http", "request_llm_model", "", "llm_model", "", "response_source", "upstream"); got != 3 {
		t.Errorf("route 1: %v", got)
	}
	if m := metric(fams, "apisix_http_status", "code", "404", "route", "", "node", "", "response_source", "apisix"); m == nil {
		t.Errorf("unmatched requests: no response_source apisix, node \"\"")
	}
	// prometheus2.t tests 8-15: matched_uri and matched_host say which of
	// a route's uris and hosts the request matched, as written.
	g.mustAdmin("PUT", "/apisix/admin/routes/9", fmt.Sprintf(`{"hosts": ["foo.com", "bar.com"], "uris": ["/foo*", "/bar*"],
		"plugins": {"prometheus": {}}, "upstream": {"nodes": {%q: 1}}}`, o.addr), 201)
	hit := func(host, path string) {
		req, _ := http.NewRequest("GET", "http://"+g.addr+path, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	waitUntil(t, "route 9's matches counted", func() bool {
		hit("foo.com", "/foo1")
		hit("bar.com", "/bar1")
		f := scrape(t, export)
		return counter(f, "apisix_http_status", "route", "9", "matched_uri", "/foo*", "matched_host", "foo.com") > 0 &&
			counter(f, "apisix_http_status", "route", "9", "matched_uri", "/bar*", "matched_host", "bar.com") > 0
	})
	for _, typ := range []string{"request", "upstream", "apisix"} {
		m := metric(fams, "apisix_http_latency", "type", typ, "route", "1", "node", "127.0.0.1")
		if m == nil || m.Histogram == nil || m.Histogram.GetSampleCount() != 3 {
			t.Fatalf("latency %s: %v", typ, m)
		}
		if n := len(m.Histogram.Bucket); n != 16 || m.Histogram.Bucket[0].GetUpperBound() != 1 || m.Histogram.Bucket[14].GetUpperBound() != 60000 {
			t.Errorf("buckets %v", m.Histogram.Bucket)
		}
	}
	if metric(fams, "apisix_http_latency", "type", "upstream", "route", "") != nil {
		t.Error("an upstream latency for unmatched requests")
	}
	for _, typ := range []string{"ingress", "egress"} {
		if v := counter(fams, "apisix_bandwidth", "type", typ, "route", "2", "service", "", "consumer", "", "node", "127.0.0.1"); v <= 0 {
			t.Errorf("bandwidth %s: %v", typ, v)
		}
	}
	if v := counter(fams, "apisix_http_requests_total"); v < 6 {
		t.Errorf("requests total %v", v)
	}
	for name, labels := range map[string][]string{
		"apisix_etcd_reachable":                 nil,
		"apisix_nginx_http_current_connections": {"state", "active"},
		"apisix_etcd_modify_indexes":            {"key", "routes"},
		"apisix_node_info":                      nil,
	} {
		if metric(fams, name, labels...) == nil {
			t.Errorf("no %s%v", name, labels)
		}
	}
	if counter(fams, "apisix_etcd_reachable") != 1 {
		t.Error("etcd not reachable")
	}

	// The export server answers only GET on its URI.
	for _, tc := range []struct{ method, path string }{{"GET", "/"}, {"GET", "/apisix/prometheus/metricsx"}, {"POST", "/apisix/prometheus/metrics"}} {
		req, _ := http.NewRequest(tc.method, "http://"+export+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s %s: %d", tc.method, tc.path, resp.StatusCode)
		}
	}

	code, resp := g.adminCall("PUT", "/apisix/admin/routes/9", `{"uri": "/x", "plugins": {"prometheus": {"prefer_name": "yes"}}, "upstream": {"nodes": {"127.0.0.1:1": 1}}}`)
	if want := `{"error_msg":"failed to check the configuration of plugin prometheus err: property \"prefer_name\" validation failed: wrong type: expected boolean, got string"}`; code != 400 || strings.TrimSpace(resp) != want {
		t.Errorf("bad conf: %d %s", code, resp)
	}

	t.Run("consumer label", func(t *testing.T) {
		if !hasPlugin(t, g, "key-auth") {
			t.Skip("no auth plugin in this build yet")
		}
		g.mustAdmin("PUT", "/apisix/admin/consumers", `{"username": "jack", "plugins": {"key-auth": {"key": "auth-one"}}}`, 201)
		g.mustAdmin("PUT", "/apisix/admin/routes/3", fmt.Sprintf(`{"uri": "/status", "plugins": {"key-auth": {}, "prometheus": {}}, "upstream": {"nodes": {%q: 1}}}`, o.addr), 201)
		waitUntil(t, "the auth route", func() bool {
			return g.do(t, "GET", "/status", map[string]string{"apikey": "auth-one"}, "").status == 200
		})
		waitUntil(t, "the consumer label", func() bool {
			return counter(scrape(t, export), "apisix_http_status", "code", "200", "route", "3", "consumer", "jack") >= 1
		})
	})
}

// readLines returns the access log's lines once want of them are there.
func readLines(t *testing.T, path string, want int) []string {
	t.Helper()
	var lines []string
	waitUntil(t, fmt.Sprintf("%d access log lines in %s", want, path), func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		lines = nil
		s := bufio.NewScanner(bytes.NewReader(b))
		for s.Scan() {
			lines = append(lines, s.Text())
		}
		return len(lines) >= want
	})
	return lines
}

// accessLogRequests sends a normal request, an unmatched one, one to a
// dead upstream (502) and one whose client leaves before the answer (499),
// one after the other so the lines come in that order.
func accessLogRequests(t *testing.T, g *gatewayProc, path string) []string {
	t.Helper()
	g.do(t, "GET", "/hello?x=1", map[string]string{"User-Agent": "e2e \"agent\"", "Referer": "http://ref/"}, "")
	readLines(t, path, 1)
	g.do(t, "GET", "/nowhere", nil, "")
	readLines(t, path, 2)
	g.do(t, "GET", "/dead", nil, "")
	readLines(t, path, 3)
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /mysleep?seconds=5 HTTP/1.1\r\nHost: e2e\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Leave at once: gnet reads the request before it sees the close, so
	// the request is dispatched and its log phase runs with 499.
	c.Close()
	return readLines(t, path, 4)
}

func accessLogRoutes(origin string) string {
	return fmt.Sprintf(`routes:
  - id: ok
    uris: [/hello, /mysleep]
    upstream:
      nodes:
        %[1]q: 1
  - id: dead
    uri: /dead
    upstream:
      nodes:
        "127.0.0.1:1": 1
`, origin)
}

// nginx's access log in APISIX's default format: a normal request, a 404,
// a 502 and a client that left (499).
func TestAccessLogDefaultFormat(t *testing.T) {
	o := startOrigin(t)
	g := startStandalone(t, "sluice:\n  access_log_flush: 50ms\n", accessLogRoutes(o.addr))
	path := filepath.Join(g.dir, "logs", "access.log") // APISIX's default, under the working directory
	lines := accessLogRequests(t, g, path)
	tl := `\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]`
	id := `"[0-9a-f]{32}"`
	host := regexp.QuoteMeta(g.addr)
	for i, want := range []string{
		`^127\.0\.0\.1 - - ` + tl + ` ` + host + ` "GET /hello\?x=1 HTTP/1\.1" 200 12 \d+\.\d{3} "http://ref/" "e2e \\x22agent\\x22" ` +
			regexp.QuoteMeta(o.addr) + ` 200 \d+\.\d{3} "http://` + host + `" ` + id + `$`,
		`^127\.0\.0\.1 - - ` + tl + ` ` + host + ` "GET /nowhere HTTP/1\.1" 404 \d+ \d+\.\d{3} "-" "Go-http-client/1\.1" - - - "http://` + host + `" ` + id + `$`,
		`^127\.0\.0\.1 - - ` + tl + ` ` + host + ` "GET /dead HTTP/1\.1" 502 \d+ \d+\.\d{3} "-" "Go-http-client/1\.1" 127\.0\.0\.1:1 502 \d+\.\d{3} "http://` + host + `" ` + id + `$`,
		`^127\.0\.0\.1 - - ` + tl + ` e2e "GET /mysleep\?seconds=5 HTTP/1\.1" 499 0 \d+\.\d{3} "-" "-" ` + regexp.QuoteMeta(o.addr) + ` - - "http://e2e" ` + id + `$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d:\n%s\ndoes not match\n%s", i, lines[i], want)
		}
	}
}

// The JSON option is APISIX's own: a format shaped as JSON with
// access_log_format_escape json; every line parses.
func TestAccessLogJSON(t *testing.T) {
	o := startOrigin(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "access.json")
	format := `{"remote_addr":"$remote_addr","request":"$request","status":"$status","ua":"$http_user_agent","upstream_addr":"$upstream_addr","route_id":"$route_id","time":"$time_iso8601"}`
	g := startStandalone(t, fmt.Sprintf("nginx_config:\n  http:\n    access_log: %s\n    access_log_format: '%s'\n    access_log_format_escape: json\nsluice:\n  access_log_flush: 50ms\n", path, format),
		accessLogRoutes(o.addr))
	lines := accessLogRequests(t, g, path)
	for i, want := range []map[string]string{
		{"request": "GET /hello?x=1 HTTP/1.1", "status": "200", "ua": `e2e "agent"`, "upstream_addr": o.addr, "route_id": "ok"},
		{"request": "GET /nowhere HTTP/1.1", "status": "404", "upstream_addr": "", "route_id": ""},
		{"request": "GET /dead HTTP/1.1", "status": "502", "upstream_addr": "127.0.0.1:1", "route_id": "dead"},
		{"request": "GET /mysleep?seconds=5 HTTP/1.1", "status": "499", "ua": "", "route_id": "ok"},
	} {
		var got map[string]string
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i, err, lines[i])
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("line %d: %s = %q, want %q", i, k, got[k], v)
			}
		}
		if got["remote_addr"] != "127.0.0.1" || !strings.HasPrefix(got["time"], "20") {
			t.Errorf("line %d: %v", i, got)
		}
	}
}
