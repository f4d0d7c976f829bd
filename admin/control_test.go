package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	cfgsync "github.com/sluicegw/sluice/sync"
	"github.com/sluicegw/sluice/trie"
)

func TestControlAPI(t *testing.T) {
	store := cfgsync.NewStore()
	ready := false
	srv := httptest.NewServer(&Control{Store: store, Ready: func() bool { return ready }})
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
	if code, body := get("/status/ready"); code != 503 || !strings.Contains(body, `"status":"error"`) {
		t.Fatalf("before the first load: %d %s", code, body)
	}
	b := &cfgsync.Builder{Mode: trie.URI}
	item := func(kind *config.Kind, id, value string) cfgsync.Change {
		return cfgsync.Change{Kind: kind, ID: id, Item: &cfgsync.Item{Key: "/apisix/" + kind.Name + "/" + id, Value: []byte(value), CreateRev: 5, ModRev: 6}}
	}
	snap, _ := b.Apply(6, []cfgsync.Change{
		item(config.Upstreams, "u1", `{"nodes": {"127.0.0.1:80": 1}}`),
		item(config.Routes, "r1", `{"uri": "/a", "upstream_id": "u1"}`),
		item(config.Routes, "r0", `{"uri": "/b", "status": 0, "plugins": {}}`),
	}, true)
	store.Publish(snap)
	ready = true
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/status", 200, `{"status":"ok"}`},
		{"/status/ready", 200, `{"status":"ok"}`},
		{"/v1/routes", 200, `[{"key":"/apisix/routes/r0","value":{"uri":"/b","status":0,"plugins":{}},"createdIndex":5,"modifiedIndex":6},{"key":"/apisix/routes/r1","value":{"uri":"/a","upstream_id":"u1"},"createdIndex":5,"modifiedIndex":6}]`},
		{"/v1/route/r1", 200, `{"key":"/apisix/routes/r1","value":{"uri":"/a","upstream_id":"u1"},"createdIndex":5,"modifiedIndex":6}`},
		{"/v1/route/nope", 404, `{"error_msg":"route not found"}`},
		{"/v1/upstreams", 200, `[{"key":"/apisix/upstreams/u1","value":{"nodes":{"127.0.0.1:80":1}},"createdIndex":5,"modifiedIndex":6}]`},
		{"/v1/services", 200, `[]`},
		{"/v1/sync", 200, `{"revision":6,"routes":1}`}, // the disabled r0 is not served
		{"/v1/routes/r1", 404, `{"error_msg":"not found"}`},
		{"/v1/nothing", 404, `{"error_msg":"not found"}`},
	} {
		if code, body := get(tc.path); code != tc.code || body != tc.body {
			t.Errorf("GET %s: %d %s\nwant %d %s", tc.path, code, body, tc.code, tc.body)
		}
	}
}
