package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/admintest"
)

// goldenPlugins enables no plugins in the binaries the golden file runs
// against: it is shared with the in-process Admin API, which has no plugin
// registry, so /plugins/list and "unknown plugin" answers must not depend
// on which plugins the binary links in.
const goldenPlugins = "plugins: []\n"

// The Admin API golden file, against the real binary on its embedded etcd.
func TestAdminAPIOnEmbeddedEtcd(t *testing.T) {
	g := startEtcdGateway(t, "traditional", "", goldenPlugins)
	cli := etcdClient(t, g.endpoint)
	admintest.Run(t, "../admin/testdata/api.txt", admintest.Env{AdminURL: g.admin, APIKey: adminKey, Etcd: cli, Prefix: "/apisix"})
}

// The same file against the real binary on an etcd server process.
func TestAdminAPIOnEtcdBinary(t *testing.T) {
	e := startEtcd(t)
	g := startEtcdGateway(t, "traditional", e.clientURL, goldenPlugins)
	admintest.Run(t, "../admin/testdata/api.txt", admintest.Env{AdminURL: g.admin, APIKey: adminKey, Etcd: e.cli, Prefix: "/apisix"})
}

// Admin API writes reach the data plane: create, change the upstream,
// route through a service, delete.
func TestAdminWritesReachTraffic(t *testing.T) {
	e := startEtcd(t)
	g := startEtcdGateway(t, "traditional", e.clientURL, "")
	a, b := namedUpstream(t, "a"), namedUpstream(t, "b")
	must := func(method, path, body string, want int) {
		t.Helper()
		if code, resp := g.adminCall(method, path, body); code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, resp)
		}
	}
	must("PUT", "/apisix/admin/upstreams/u1", fmt.Sprintf(`{"nodes": {%q: 1}}`, a), 201)
	must("PUT", "/apisix/admin/routes/1", `{"uri": "/hello", "upstream_id": "u1"}`, 201)
	g.waitServes("/hello", 200, "a /hello")
	// The control API shows what this node serves.
	for path, want := range map[string]string{
		"/v1/routes":      `"key":"/apisix/routes/1"`,
		"/v1/route/1":     `"upstream_id":"u1"`,
		"/v1/upstream/u1": a,
		"/v1/services":    `[]`,
	} {
		resp, err := http.Get("http://" + g.control + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("control %s: %d %s, want %q", path, resp.StatusCode, b, want)
		}
	}

	must("PUT", "/apisix/admin/upstreams/u1", fmt.Sprintf(`{"nodes": {%q: 1}}`, b), 200)
	g.waitServes("/hello", 200, "b /hello")

	must("PUT", "/apisix/admin/services/s1", fmt.Sprintf(`{"upstream": {"nodes": {%q: 1}}}`, a), 201)
	must("PATCH", "/apisix/admin/routes/1", `{"upstream_id": null, "service_id": "s1"}`, 200)
	g.waitServes("/hello", 200, "a /hello")

	must("DELETE", "/apisix/admin/routes/1", "", 200)
	g.waitServes("/hello", 404, "")
	// POST-generated ids route like any other.
	must("POST", "/apisix/admin/routes", `{"uri": "/posted", "service_id": "s1"}`, 201)
	g.waitServes("/posted", 200, "a /posted")
}

// Objects written straight into etcd, as an APISIX control plane writes
// them (ids as numbers, no timestamps, APISIX's placeholders and encrypted
// ssl keys, the odd invalid item), are served.
func TestWritesByAnotherWriter(t *testing.T) {
	e := startEtcd(t)
	up := namedUpstream(t, "up")
	e.put("/routes/", "init_dir")
	e.put("/upstreams/", "init_dir")
	e.put("/plugins", `[{"name":"key-auth"},{"name":"limit-conn","stream":true}]`)
	e.put("/upstreams/1", fmt.Sprintf(`{"id": 1, "nodes": [{"host": %q, "port": %s, "weight": 1}], "type": "roundrobin"}`,
		strings.Split(up, ":")[0], strings.Split(up, ":")[1]))
	e.put("/routes/1", `{"id": 1, "uri": "/apisix/*", "upstream_id": 1, "priority": 0, "status": 1}`)
	e.put("/routes/2", `{"id": 2, "uri": "/broken", "methods": ["FETCH"], "upstream_id": 1}`)
	e.put("/routes/3", `not json at all`)
	g := startEtcdGateway(t, "data_plane", e.clientURL, "")
	g.waitServes("/apisix/x", 200, "up /apisix/x")
	g.waitServes("/broken", 404, "")
	if !strings.Contains(g.log.String(), `/apisix/routes/2: invalid configuration: property \"methods\"`) {
		t.Errorf("the invalid route was not logged:\n%s", g.log.String())
	}
	// Changes keep arriving while it runs.
	e.put("/routes/4", `{"id": 4, "uri": "/later", "upstream_id": 1}`)
	g.waitServes("/later", 200, "up /later")
	// A route with a plugin sluice does not run fails closed.
	e.put("/routes/5", `{"id": 5, "uri": "/auth", "upstream_id": 1, "plugins": {"hmac-auth": {}}}`)
	g.waitServes("/auth", 503, "")
}

// A gateway whose watch falls behind a compaction lists everything again.
// SIGSTOP freezes it; more writes than etcd will buffer for a stalled
// watcher (gRPC flow control stops the stream, etcd parks the watcher as
// unsynced) are made and compacted away; on SIGCONT the watch is cancelled
// as compacted.
func TestCompactionForcesRelist(t *testing.T) {
	e := startEtcd(t)
	up := namedUpstream(t, "up")
	e.put("/routes/1", fmt.Sprintf(`{"uri": "/one", "upstream": {"nodes": {%q: 1}}}`, up))
	g := startEtcdGateway(t, "data_plane", e.clientURL, "")
	g.waitServes("/one", 200, "up /one")

	if err := g.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	e.put("/routes/2", fmt.Sprintf(`{"uri": "/two", "upstream": {"nodes": {%q: 1}}}`, up))
	filler := strings.Repeat("x", 32<<10)
	for i := range 400 { // 12.5 MiB of events for a directory sluice ignores
		e.put(fmt.Sprintf("/protos/%d", i%10), filler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.cli.Delete(ctx, "/apisix/routes/1"); err != nil {
		t.Fatal(err)
	}
	last := e.put("/routes/3", fmt.Sprintf(`{"uri": "/three", "upstream": {"nodes": {%q: 1}}}`, up))
	if _, err := e.cli.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	g.waitServes("/three", 200, "up /three")
	g.waitServes("/two", 200, "up /two")
	g.waitServes("/one", 404, "")
	if !strings.Contains(g.log.String(), "required revision has been compacted") {
		t.Fatalf("caught up without noticing the compaction:\n%s", g.log.String())
	}
}

// etcd crashes and comes back while traffic flows: no request fails, and
// the configuration catches up afterwards.
func TestEtcdRestartUnderTraffic(t *testing.T) {
	e := startEtcd(t)
	up := namedUpstream(t, "up")
	e.put("/routes/1", fmt.Sprintf(`{"uri": "/busy", "upstream": {"nodes": {%q: 1}}}`, up))
	g := startEtcdGateway(t, "data_plane", e.clientURL, "")
	g.waitServes("/busy", 200, "up /busy")

	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Get("http://" + g.addr + "/busy")
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprint(err, resp))
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	e.crash()
	time.Sleep(3 * time.Second) // down long enough for the watch to notice and back off
	e.start()
	e.put("/routes/2", fmt.Sprintf(`{"uri": "/after", "upstream": {"nodes": {%q: 1}}}`, up))
	g.waitServes("/after", 200, "up /after")
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed while etcd restarted; first: %v", failed.Load(), sent.Load(), firstFailure.Load())
	}
	t.Logf("%d requests, none failed", sent.Load())
}

// Two nodes on one etcd: one with the Admin API, one data plane. Both serve
// what the first one is told; the data plane has no Admin API.
func TestTwoNodesServeTheSameConfig(t *testing.T) {
	e := startEtcd(t)
	up := namedUpstream(t, "up")
	cp := startEtcdGateway(t, "traditional", e.clientURL, "")
	dp := startEtcdGateway(t, "data_plane", e.clientURL, "")
	if code, body := cp.adminCall("PUT", "/apisix/admin/routes/1", fmt.Sprintf(`{"uri": "/shared", "upstream": {"nodes": {%q: 1}}}`, up)); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	cp.waitServes("/shared", 200, "up /shared")
	dp.waitServes("/shared", 200, "up /shared")
	if !strings.Contains(dp.log.String(), "provider=etcd") || strings.Contains(dp.log.String(), "admin API listening") {
		t.Fatalf("the data plane runs an Admin API:\n%s", dp.log.String())
	}
}

// With no config file at all, sluice runs on an embedded etcd with the
// Admin API and a generated key: the zero-setup start. It uses the fixed
// default ports, so it is skipped if any of them is taken.
func TestZeroConfigStart(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:2379", "127.0.0.1:2380", "127.0.0.1:9080", "127.0.0.1:9090", "127.0.0.1:9180"} {
		if c, err := (&net.Dialer{Timeout: 200 * time.Millisecond}).Dial("tcp", addr); err == nil {
			c.Close()
			t.Skipf("%s is in use; the zero-config start needs the default ports", addr)
		}
	}
	dir := t.TempDir()
	g := &gatewayProc{t: t, addr: "127.0.0.1:9080", control: "127.0.0.1:9090", dir: dir, log: &syncBuffer{}}
	g.cmd = exec.Command(sluiceBin, "run")
	g.cmd.Dir = dir
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g.done = make(chan error, 1)
	go func() { g.done <- g.cmd.Wait() }()
	t.Cleanup(g.kill)
	g.waitListening()
	eg := &etcdGateway{gatewayProc: g, admin: "http://127.0.0.1:9180"}
	eg.waitReady()
	var key string
	for _, f := range strings.Fields(g.log.String()) {
		if k, ok := strings.CutPrefix(f, "key="); ok {
			key = k
		}
	}
	if len(key) != 32 {
		t.Fatalf("no generated admin key in the log:\n%s", g.log.String())
	}
	up := namedUpstream(t, "up")
	req, _ := http.NewRequest("PUT", eg.admin+"/apisix/admin/routes/1", strings.NewReader(fmt.Sprintf(`{"uri": "/zero", "upstream": {"nodes": {%q: 1}}}`, up)))
	req.Header.Set("X-API-KEY", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("PUT with the generated key: %d", resp.StatusCode)
	}
	g.waitServes("/zero", 200, "up /zero")
	if _, err := os.Stat(filepath.Join(dir, ".sluice-data", "etcd", "member")); err != nil {
		t.Fatalf("the embedded etcd keeps no data in .sluice-data: %v", err)
	}
	if err := g.stop(); err != nil {
		t.Fatalf("exit: %v\n%s", err, g.log.String())
	}
}
