package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/embedetcd"
	"github.com/sluicegw/sluice/internal/admintest"
	"github.com/sluicegw/sluice/internal/testport"
	cfgsync "github.com/sluicegw/sluice/sync"
)

const testKey = "edd1c9f034335f136f87ad84b625c8f1"

// startAdmin serves the Admin API in-process on a real (embedded) etcd.
func startAdmin(t *testing.T, edit func(*Options)) (*httptest.Server, *clientv3.Client) {
	t.Helper()
	e, err := embedetcd.Start(embedetcd.Options{DataDir: t.TempDir(), ClientAddr: testport.Addr(t), PeerAddr: testport.Addr(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	cli, err := cfgsync.DialEtcd(cfgsync.EtcdOptions{Endpoints: []string{e.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	kr, err := config.NewKeyring(config.DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Client:      cli,
		Keys:        []Key{{Name: "admin", Key: testKey, Role: RoleAdmin}, {Name: "viewer", Key: "viewer-key", Role: RoleViewer}},
		KeyRequired: true,
		AllowAdmin:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/24")},
		CORS:        true,
		Pipeline:    &config.Pipeline{Keyring: kr},
		Now:         func() time.Time { return time.Unix(1700000000, 0) },
	}
	if edit != nil {
		edit(&o)
	}
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return srv, cli
}

// TestAdminAPI runs the golden file against the in-process Admin API. e2e
// runs the same file against the real binary.
func TestAdminAPI(t *testing.T) {
	srv, cli := startAdmin(t, nil)
	admintest.Run(t, "testdata/api.txt", admintest.Env{AdminURL: srv.URL, APIKey: testKey, Etcd: cli, Prefix: "/apisix"})
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-KEY", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestAllowAdmin(t *testing.T) {
	srv, _ := startAdmin(t, func(o *Options) { o.AllowAdmin = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	if code, body := call(t, "GET", srv.URL+"/apisix/admin/routes", ""); code != http.StatusForbidden {
		t.Fatalf("a client outside allow_admin: %d %s", code, body)
	}
}

func TestBodyLimit(t *testing.T) {
	srv, _ := startAdmin(t, nil)
	big := `{"uri": "/a", "plugins": {}, "desc": "` + strings.Repeat("x", MaxBodyBytes) + `"}`
	code, body := call(t, "PUT", srv.URL+"/apisix/admin/routes/1", big)
	if code != http.StatusBadRequest || !strings.Contains(body, "is greater than the maximum size 1572864 allowed") {
		t.Fatalf("%d %.200s", code, body)
	}
	if code, _ := call(t, "GET", srv.URL+"/apisix/admin/routes/1", ""); code != http.StatusNotFound {
		t.Fatal("a refused body was stored")
	}
}

// ?ttl= attaches an etcd lease: the object disappears by itself.
func TestTTL(t *testing.T) {
	srv, _ := startAdmin(t, nil)
	if code, body := call(t, "PUT", srv.URL+"/apisix/admin/routes/1?ttl=1", `{"uri": "/a", "plugins": {}}`); code != http.StatusCreated {
		t.Fatalf("%d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := call(t, "GET", srv.URL+"/apisix/admin/routes/1", "")
		if code == http.StatusNotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the route outlived its 1 s lease")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Concurrent PATCHes of one object are compare-and-swapped on its mod
// revision: none is lost, and a loser is told so instead of overwriting.
func TestPatchIsCompareAndSwap(t *testing.T) {
	srv, _ := startAdmin(t, nil)
	if code, body := call(t, "PUT", srv.URL+"/apisix/admin/routes/1", `{"uri": "/a", "plugins": {}, "labels": {}}`); code != http.StatusCreated {
		t.Fatalf("%d %s", code, body)
	}
	var wg stdsync.WaitGroup
	results := make([]int, 20)
	for i := range results {
		wg.Go(func() {
			results[i], _ = call(t, "PATCH", srv.URL+"/apisix/admin/routes/1/labels/l"+strconv.Itoa(i), `"v"`)
		})
	}
	wg.Wait()
	ok := 0
	for _, code := range results {
		switch code {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable: // value changed before overwritten
		default:
			t.Fatalf("PATCH answered %d", code)
		}
	}
	_, body := call(t, "GET", srv.URL+"/apisix/admin/routes/1", "")
	var got struct {
		Value struct {
			Labels map[string]string `json:"labels"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Value.Labels) != ok {
		t.Fatalf("%d PATCHes succeeded but %d labels are stored: a write was lost", ok, len(got.Value.Labels))
	}
}

// Paging sorts by creation and counts every match in total.
func TestListPaging(t *testing.T) {
	srv, _ := startAdmin(t, nil)
	for i := range 25 {
		// Ids in reverse alphabetical order: the pages must follow
		// creation, not key order.
		id := strconv.Itoa(99 - i)
		if code, body := call(t, "PUT", srv.URL+"/apisix/admin/routes/"+id, `{"uri": "/p`+id+`", "plugins": {}}`); code != 201 {
			t.Fatalf("%d %s", code, body)
		}
	}
	_, body := call(t, "GET", srv.URL+"/apisix/admin/routes?page=2&page_size=10", "")
	var got struct {
		Total int `json:"total"`
		List  []struct {
			Value struct {
				ID string `json:"id"`
			} `json:"value"`
		} `json:"list"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Total != 25 || len(got.List) != 10 || got.List[0].Value.ID != "89" || got.List[9].Value.ID != "80" {
		t.Fatalf("page 2: %s", body)
	}
	_, body = call(t, "GET", srv.URL+"/apisix/admin/routes?page=3&page_size=10", "")
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.List) != 5 {
		t.Fatalf("page 3: %s", body)
	}
}

// The schema endpoint serves the schema the Admin API validates with.
func TestSchemaEndpoint(t *testing.T) {
	srv, _ := startAdmin(t, nil)
	code, body := call(t, "GET", srv.URL+"/apisix/admin/schema/route", "")
	var sch struct {
		Properties map[string]struct {
			Items struct {
				Enum []string `json:"enum"`
			} `json:"items"`
		} `json:"properties"`
		AdditionalProperties *bool `json:"additionalProperties"`
	}
	if err := json.Unmarshal([]byte(body), &sch); err != nil || code != 200 {
		t.Fatalf("%d %v %.200s", code, err, body)
	}
	if m := sch.Properties["methods"].Items.Enum; len(m) != 10 || m[9] != "PURGE" || sch.AdditionalProperties == nil || *sch.AdditionalProperties {
		t.Fatalf("route schema: %.300s", body)
	}
	for _, name := range []string{"service", "upstream", "consumer", "credential", "consumer_group", "plugin_config", "global_rule", "ssl"} {
		if code, _ := call(t, "GET", srv.URL+"/apisix/admin/schema/"+name, ""); code != 200 {
			t.Errorf("schema/%s: %d", name, code)
		}
	}
}
