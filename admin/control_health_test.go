package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/config"
	cfgsync "github.com/sluicegw/sluice/sync"
	"github.com/sluicegw/sluice/trie"
)

// TestControlHealthcheck: /v1/healthcheck answers as APISIX's control API
// does (t/control/healthcheck.t), errors included.
func TestControlHealthcheck(t *testing.T) {
	m := health.NewManager(health.Options{})
	defer m.Close()
	store := cfgsync.NewStore()
	srv := httptest.NewServer(&Control{Store: store, Health: m})
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := get("/v1/healthcheck"); code != 200 || body != "{}" {
		t.Fatalf("no checkers: %d %s", code, body)
	}

	// Probes would change the counters; an hour-long interval keeps them still.
	const checks = `"checks": {"active": {"http_path": "/status", "healthy": {"interval": 3600, "successes": 1}, "unhealthy": {"interval": 3600, "http_failures": 1}}}`
	item := func(kind *config.Kind, id, value string) cfgsync.Change {
		return cfgsync.Change{Kind: kind, ID: id, Item: &cfgsync.Item{Key: "/apisix/" + kind.Name + "/" + id, Value: []byte(value), CreateRev: 5, ModRev: 6}}
	}
	b := &cfgsync.Builder{Mode: trie.URI, Health: m}
	snap, _ := b.Apply(6, []cfgsync.Change{
		item(config.Upstreams, "1", `{"nodes": {"127.0.0.1:1980": 1, "127.0.0.2:1988": 0}, `+checks+`}`),
		item(config.Routes, "1", `{"uri": "/hello", "upstream_id": "1"}`),
		item(config.Routes, "2", `{"uri": "/inline", "upstream": {"nodes": {"127.0.0.1:1980": 1}, `+checks+`}}`),
		item(config.Routes, "3", `{"uri": "/plain", "upstream": {"nodes": {"127.0.0.1:1980": 1}}}`),
	}, true)
	store.Publish(snap)
	up := snap.UpstreamOf(snap.Match(&trie.Query{Path: []byte("/hello"), Method: 1 << 1}))
	up.Health.Report(1, health.TCPFailure) // as the engine would after two refused connections
	up.Health.Report(1, health.TCPFailure)
	wantU1 := `{"name":"/apisix/upstreams/1","nodes":[` +
		`{"counter":{"http_failure":0,"success":0,"tcp_failure":0,"timeout_failure":0},"hostname":"127.0.0.1","ip":"127.0.0.1","port":1980,"status":"healthy"},` +
		`{"counter":{"http_failure":0,"success":0,"tcp_failure":2,"timeout_failure":0},"hostname":"127.0.0.2","ip":"127.0.0.2","port":1988,"status":"unhealthy"}],"type":"http"}`
	wantR2 := `{"name":"/apisix/routes/2","nodes":[` +
		`{"counter":{"http_failure":0,"success":0,"tcp_failure":0,"timeout_failure":0},"hostname":"127.0.0.1","ip":"127.0.0.1","port":1980,"status":"healthy"}],"type":"http"}`
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/v1/healthcheck", 200, "[" + wantR2 + "," + wantU1 + "]"},
		{"/v1/healthcheck/upstreams/1", 200, wantU1},
		{"/v1/healthcheck/routes/2", 200, wantR2},
		{"/v1/healthcheck/routes/3", 404, `{"error_msg":"no checker for routes[3]"}`},
		{"/v1/healthcheck/routes/9", 404, `{"error_msg":"routes[9] not found"}`},
		{"/v1/healthcheck/route/1", 400, `{"error_msg":"invalid src type route"}`},
		{"/v1/healthcheck/services", 404, `{"error_msg":"missing src id for src type services"}`},
		{"/v1/healthcheck/stream_routes/1", 404, `{"error_msg":"stream_routes[1] not found"}`},
	} {
		if code, body := get(tc.path); code != tc.code || body != tc.body {
			t.Errorf("GET %s: %d %s\nwant %d %s", tc.path, code, body, tc.code, tc.body)
		}
	}
}
