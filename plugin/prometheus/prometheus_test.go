package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// request is a finished request as the engine hands it to the log phase.
type request struct {
	route, routeName, service, serviceName string
	consumer                               string
	status                                 int
	upstream                               bool // the upstream answered (its head passed header_filter)
	attempt                                time.Duration
	exit                                   bool
	node                                   string
	in, out                                int64
	cred                                   *reqctx.Credential // made by serve from consumer
}

func newCtx(t testing.TB, loop *reqctx.Loop) *reqctx.Ctx {
	t.Helper()
	return plugintest.NewCtxOn(t, loop, "GET /hello HTTP/1.1\r\nHost: a")
}

var limits = http1.Limits{}.WithDefaults()

var upstreamHead = []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

// upstreamResp is upstreamHead parsed.
func upstreamResp(t testing.TB) *http1.Response {
	t.Helper()
	var resp http1.Response
	if err := resp.Parse(upstreamHead, http1.MethodGet, &limits); err != nil {
		t.Fatal(err)
	}
	return &resp
}

// serve runs one request through the plugin's header_filter and log. It
// allocates nothing itself once r has its credential (prepare).
func serve(t testing.TB, ch *plugin.Chain, c *reqctx.Ctx, r request) {
	t.Helper()
	prepare(t, &r)
	serveReady(ch, c, &r)
}

var parsedResp *http1.Response

// prepare makes what serveReady needs but must not allocate.
func prepare(t testing.TB, r *request) {
	if r.consumer != "" && r.cred == nil {
		r.cred = &reqctx.Credential{Consumer: &reqctx.Consumer{Name: r.consumer}}
	}
	if parsedResp == nil {
		parsedResp = upstreamResp(t)
	}
}

func serveReady(ch *plugin.Chain, c *reqctx.Ctx, r *request) {
	c.Reset()
	c.Head = append(c.Head[:0], "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"...)
	c.Begin([]byte("/hello"), []byte("a"), time.Now().Add(-1500*time.Millisecond))
	c.RouteID, c.RouteName, c.ServiceID, c.ServiceName = r.route, r.routeName, r.service, r.serviceName
	if r.cred != nil {
		c.SetConsumer(r.cred)
	}
	if r.node != "" {
		c.NodeHost, c.NodePort = r.node, 1980
		c.AddAttempt(r.node + ":1980")
		c.FinishAttempt(r.status, r.attempt)
	}
	c.Status = r.status
	if r.exit {
		c.Exit(r.status, nil)
	}
	if r.upstream {
		c.Resp, c.RespHead = parsedResp, upstreamHead
	}
	ch.HeaderFilter(c, nil)
	c.Resp, c.RespHead = nil, nil
	c.RequestLength, c.BytesSent = r.in, r.out
	ch.Log(c, nil)
}

// scrape gathers what the exporter would serve, parsed back with the
// Prometheus text parser.
func scrape(t testing.TB, o Options) map[string]*dto.MetricFamily {
	t.Helper()
	h, err := Handler(NewCollector(o), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/apisix/prometheus/metrics", nil)
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, rec.Body)
	}
	return fams
}

// find returns the series of family name whose labels include want.
func find(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
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
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestLogCountsWithAPISIXsLabels(t *testing.T) {
	ch := plugintest.Chain(t, Name, `{}`)
	loops := []*reqctx.Loop{{ID: 0}, {ID: 1}}
	// The same label set on two loops, an upstream error without response,
	// an exit, an unmatched request.
	for i, loop := range loops {
		c := newCtx(t, loop)
		serve(t, ch, c, request{route: "t1-r1", service: "t1-s", status: 200, upstream: true, node: "127.0.0.1", attempt: 3 * time.Millisecond, in: 100, out: 1000 + int64(i)})
		serve(t, ch, c, request{route: "t1-r1", service: "t1-s", status: 502, node: "127.0.0.1", attempt: time.Millisecond, in: 100, out: 200})
	}
	c := newCtx(t, loops[0])
	serve(t, ch, c, request{route: "t1-r2", consumer: "jack", status: 401, exit: true, in: 50, out: 80})
	serve(t, ch, c, request{status: 404, in: 10, out: 20})

	fams := scrape(t, Options{})
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{labels("code", "200", "route", "t1-r1", "matched_uri", "", "matched_host", "", "service", "t1-s", "consumer", "", "node", "127.0.0.1",
			"request_type", "traditional_http", "request_llm_model", "", "llm_model", "", "response_source", "upstream"), 2},
		{labels("code", "502", "route", "t1-r1", "response_source", "nginx"), 2},
		{labels("code", "401", "route", "t1-r2", "consumer", "jack", "node", "", "response_source", "apisix"), 1},
	} {
		m := find(fams, "apisix_http_status", tc.labels)
		if m == nil || m.Counter.GetValue() != tc.want {
			t.Errorf("apisix_http_status%v = %v, want %v", tc.labels, m, tc.want)
		}
	}
	// Unmatched requests are counted with an empty route (prometheus2.t).
	if m := find(fams, "apisix_http_status", labels("code", "404", "route", "", "service", "", "node", "")); m == nil {
		t.Error("unmatched request not counted with route=\"\"")
	}
	if f := fams["apisix_http_status"]; f.GetType() != dto.MetricType_COUNTER {
		t.Errorf("http_status is a %v", f.GetType())
	}

	up := find(fams, "apisix_http_latency", labels("type", "upstream", "route", "t1-r1", "service", "t1-s", "node", "127.0.0.1"))
	if up == nil || up.Histogram.GetSampleCount() != 4 || up.Histogram.GetSampleSum() != 2*3+2*1 {
		t.Fatalf("upstream latency %v", up)
	}
	for _, b := range up.Histogram.Bucket {
		want := uint64(0)
		switch {
		case b.GetUpperBound() >= 5:
			want = 4
		case b.GetUpperBound() >= 1:
			want = 2
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("upstream bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if n := len(up.Histogram.Bucket); n != len(Buckets)+1 { // with +Inf
		t.Errorf("%d buckets", n)
	}
	for _, typ := range []string{"request", "apisix"} {
		h := find(fams, "apisix_http_latency", labels("type", typ, "route", "t1-r1"))
		if h == nil || h.Histogram.GetSampleCount() != 4 || h.Histogram.GetSampleSum() < 4*1490 || h.Histogram.Bucket[9].GetCumulativeCount() != 0 {
			t.Errorf("%s latency %v", typ, h)
		}
	}
	if find(fams, "apisix_http_latency", labels("type", "upstream", "route", "t1-r2")) != nil {
		t.Error("upstream latency for a request that was never proxied")
	}
	for typ, want := range map[string]float64{"ingress": 400, "egress": 2001 + 400} {
		m := find(fams, "apisix_bandwidth", labels("type", typ, "route", "t1-r1", "service", "t1-s", "consumer", "", "node", "127.0.0.1", "request_type", "traditional_http"))
		if m == nil || m.Counter.GetValue() != want {
			t.Errorf("bandwidth %s: %v, want %v", typ, m, want)
		}
	}
}

func TestPreferName(t *testing.T) {
	ch := plugintest.Chain(t, Name, `{"prefer_name": true}`)
	c := newCtx(t, &reqctx.Loop{})
	serve(t, ch, c, request{route: "t2-r", routeName: "t2-route-name", service: "t2-s", serviceName: "t2-service-name", status: 200})
	serve(t, ch, c, request{route: "t2-unnamed", service: "t2-s2", status: 200})
	fams := scrape(t, Options{})
	if find(fams, "apisix_bandwidth", labels("type", "egress", "route", "t2-route-name", "service", "t2-service-name")) == nil {
		t.Error("names not used")
	}
	if find(fams, "apisix_bandwidth", labels("type", "egress", "route", "t2-unnamed", "service", "t2-s2")) == nil {
		t.Error("ids not used when there is no name")
	}
}

// A recompiled conf (a new config version) counts on: the counters are
// the loops', not the instance's.
func TestCountersSurviveRecompiles(t *testing.T) {
	loop := &reqctx.Loop{}
	c := newCtx(t, loop)
	for range 3 {
		serve(t, plugintest.Chain(t, Name, `{}`), c, request{route: "t3-r", status: 200})
	}
	if m := find(scrape(t, Options{}), "apisix_http_status", labels("route", "t3-r")); m == nil || m.Counter.GetValue() != 3 {
		t.Fatalf("%v", m)
	}
}

func TestDisabledLabels(t *testing.T) {
	r := plugintest.Registry(t, Name)
	idx := plugintest.Index(t, r, plugin.IndexInput{Metadata: []*config.Metadata{{Plugin: Name, Value: json.RawMessage(
		`{"disabled_labels": {"http_status": ["node", "response_source", "request_type"], "bandwidth": ["consumer"]}}`)}}})
	ch := plugintest.RouteChain(t, r, `{"prometheus": {}}`)
	c := newCtx(t, &reqctx.Loop{})
	serve(t, ch, c, request{route: "t4-r", consumer: "rose", status: 200, node: "10.0.0.1", upstream: true})
	// serve resets the Ctx: set the snapshot's index for the next one.
	c.Reset()
	c.Config = idx
	ch.HeaderFilter(c, nil)
	c.RouteID, c.NodeHost, c.Status = "t4-r", "10.0.0.1", 200
	c.SetConsumer(&reqctx.Credential{Consumer: &reqctx.Consumer{Name: "rose"}})
	ch.Log(c, nil)
	fams := scrape(t, Options{})
	if find(fams, "apisix_http_status", labels("route", "t4-r", "node", "", "response_source", "", "request_type", "")) == nil {
		t.Error("http_status labels not blanked")
	}
	if find(fams, "apisix_bandwidth", labels("route", "t4-r", "consumer", "", "node", "10.0.0.1")) == nil {
		t.Error("bandwidth's consumer not blanked")
	}
	if find(fams, "apisix_http_latency", labels("route", "t4-r", "consumer", "rose", "node", "10.0.0.1")) == nil {
		t.Error("latency lost its labels")
	}
	// The metadata schema is APISIX's: structural labels cannot go.
	for md, ok := range map[string]bool{
		`{"disabled_labels": {"http_status": ["code"]}}`:      false,
		`{"disabled_labels": {"http_latency": ["type"]}}`:     false,
		`{"disabled_labels": {"nope": ["route"]}}`:            false,
		`{"disabled_labels": {"llm_latency": ["node"]}}`:      true,
		`{"disabled_labels": {"http_status": ["route"]}}`:     true,
		`{"disabled_labels": {"bandwidth": ["matched_uri"]}}`: false,
	} {
		if _, err := plugintest.CheckAs(r, config.PluginMetadata, Name, md); (err == nil) != ok {
			t.Errorf("%s: %v", md, err)
		}
	}
}

func TestNodeGauges(t *testing.T) {
	CountRequest(newCtx(t, &reqctx.Loop{}))
	fams := scrape(t, Options{
		Hostname: "gw-1", Version: "3.13.0",
		Connections:   func() int64 { return 7 },
		Etcd:          func(context.Context) (int64, error) { return 42, nil },
		ModifyIndexes: func() map[string]int64 { return map[string]int64{"routes": 12, "services": 30} },
	})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"apisix_nginx_http_current_connections", labels("state", "active"), 7},
		{"apisix_etcd_reachable", nil, 1},
		{"apisix_node_info", labels("hostname", "gw-1", "version", "3.13.0"), 1},
		{"apisix_etcd_modify_indexes", labels("key", "routes"), 12},
		{"apisix_etcd_modify_indexes", labels("key", "max_modify_index"), 30},
		{"apisix_etcd_modify_indexes", labels("key", "x_etcd_index"), 42},
	} {
		m := find(fams, tc.name, tc.labels)
		if m == nil || m.Gauge.GetValue() != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, m, tc.want)
		}
	}
	if m := find(fams, "apisix_http_requests_total", nil); m == nil || m.Gauge.GetValue() < 1 {
		t.Errorf("requests total %v", m)
	}
	fams = scrape(t, Options{Prefix: "sluice_", Etcd: func(context.Context) (int64, error) { return 0, errors.New("down") }})
	if m := find(fams, "sluice_etcd_reachable", nil); m == nil || m.Gauge.GetValue() != 0 {
		t.Errorf("unreachable etcd: %v", m)
	}
	if fams["sluice_etcd_modify_indexes"] != nil || fams["apisix_http_status"] != nil {
		t.Error("prefix not applied everywhere")
	}
}

func TestUpstreamMillis(t *testing.T) {
	c := newCtx(t, &reqctx.Loop{})
	if _, ok := upstreamMillis(c); ok {
		t.Fatal("no attempt, yet a time")
	}
	c.AddAttempt("a:1")
	c.FinishAttempt(502, 1234*time.Millisecond)
	c.AddAttempt("b:1")
	c.FinishAttempt(200, 7*time.Millisecond)
	if ms, ok := upstreamMillis(c); !ok || ms != 1241 {
		t.Fatalf("%v %v", ms, ok)
	}
}
