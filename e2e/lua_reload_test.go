package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// luaPluginSource is a plugin module the APISIX way, tagging responses
// with its version.
func luaPluginSource(name, version string) string {
	return fmt.Sprintf(`local core = require("apisix.core")
local _M = {
    version = 0.1,
    priority = 500,
    name = %q,
    schema = {type = "object", properties = {tag = {type = "string", default = "t"}}},
}

function _M.check_schema(conf)
    return core.schema.check(_M.schema, conf)
end

function _M.access(conf, ctx)
    core.response.set_header("X-Version", %q .. "-" .. conf.tag)
end

return _M
`, name, version)
}

// loadResult is one request of the load loop.
type loadResult struct {
	sent, done time.Time
	status     int
	version    string
	err        error
}

// driveLoad sends GET path from n keep-alive clients until stop closes.
func driveLoad(g *gatewayProc, path string, n int, stop <-chan struct{}) <-chan []loadResult {
	out := make(chan []loadResult, 1)
	go func() {
		var mu sync.Mutex
		var all []loadResult
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					r := loadResult{sent: time.Now()}
					resp, err := client.Get("http://" + g.addr + path)
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						r.status, r.version = resp.StatusCode, resp.Header.Get("X-Version")
					}
					r.err, r.done = err, time.Now()
					mu.Lock()
					all = append(all, r)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		out <- all
	}()
	return out
}

// A Lua plugin file edited and reloaded while load runs: no request fails,
// the new code answers every request sent after the reload's answer (so
// within a second of it too), and a broken edit is refused with the
// previous code still serving.
func TestLuaPluginHotReloadUnderLoad(t *testing.T) {
	o := startOrigin(t)
	e := startEtcd(t)
	ext := t.TempDir()
	file := filepath.Join(ext, "apisix", "plugins", "hot-lua.lua")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, luaPluginSource("hot-lua", "v1"))
	g := startEtcdGatewayWith(t, "traditional", e.clientURL,
		"  extra_lua_path: "+filepath.Join(ext, "?.lua")+"\n", "plugins: [hot-lua, key-auth]\n")
	route := fmt.Sprintf(`{"uri": "/hello", "plugins": {"hot-lua": {"tag": "a"}}, "upstream": {"nodes": {%q: 1}}}`, o.addr)
	if st, body := g.adminCall("PUT", "/apisix/admin/routes/1", route); st >= 300 {
		t.Fatalf("%d %s", st, body)
	}
	if st, body := g.adminCall("GET", "/apisix/admin/plugins/list", ""); st != 200 || !strings.Contains(body, "hot-lua") {
		t.Fatalf("plugins list: %d %s", st, body)
	}
	// The Admin API checks confs with the module's own schema.
	bad := fmt.Sprintf(`{"uri": "/x", "plugins": {"hot-lua": {"tag": 1}}, "upstream": {"nodes": {%q: 1}}}`, o.addr)
	if st, body := g.adminCall("PUT", "/apisix/admin/routes/bad", bad); st != 400 || !strings.Contains(body, `failed to check the configuration of plugin hot-lua err: property \"tag\" validation failed`) {
		t.Fatalf("bad conf: %d %s", st, body)
	}
	g.waitServes("/hello", 200, "hello world")

	stop := make(chan struct{})
	results := driveLoad(g.gatewayProc, "/hello", 8, stop)
	time.Sleep(300 * time.Millisecond) // load running on v1 (a measurement window, not a wait for state)

	writeFile(t, file, luaPluginSource("hot-lua", "v2"))
	if st, body := g.adminCall("PUT", "/apisix/admin/plugins/reload", ""); st != 200 {
		t.Fatalf("reload: %d %s", st, body)
	}
	reloaded := time.Now()
	time.Sleep(500 * time.Millisecond)

	// A broken edit is refused; v2 keeps serving.
	writeFile(t, file, "local _M = {name = 'hot-lua', priority = 500\nfunction _M.access(")
	if st, body := g.adminCall("PUT", "/apisix/admin/plugins/reload", ""); st != 400 || !strings.Contains(body, "hot-lua") {
		t.Fatalf("broken reload: %d %s", st, body)
	}
	refused := time.Now()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	all := <-results

	var v1, v2, failed, v1After, lateV1 int
	for _, r := range all {
		switch {
		case r.err != nil || r.status != 200:
			failed++
		case r.version == "v1-a":
			v1++
			if r.sent.After(reloaded) {
				v1After++
			}
			if r.done.After(reloaded.Add(time.Second)) {
				lateV1++
			}
		case r.version == "v2-a":
			v2++
		default:
			failed++
		}
	}
	t.Logf("%d requests: %d v1, %d v2, %d failed; broken edit refused at +%v", len(all), v1, v2, failed, refused.Sub(reloaded).Round(time.Millisecond))
	if failed > 0 || v1 == 0 || v2 == 0 || v1After > 0 || lateV1 > 0 {
		t.Fatalf("failed %d, v1 %d, v2 %d, v1 sent after the reload answered %d, v1 later than a second %d", failed, v1, v2, v1After, lateV1)
	}
}

// A Lua plugin written to etcd (lua_plugins/<name>) loads on every node of
// the cluster at once, and a new version of it replaces the old.
func TestLuaPluginFromEtcdReachesEveryNode(t *testing.T) {
	o := startOrigin(t)
	e := startEtcd(t)
	cp := startEtcdGateway(t, "traditional", e.clientURL, "")
	dp := startEtcdGateway(t, "data_plane", e.clientURL, "")
	put := func(version string) {
		src := luaPluginSource("etcd-lua", version)
		body := fmt.Sprintf(`{"source": %q}`, src)
		if st, resp := cp.adminCall("PUT", "/apisix/admin/lua_plugins/etcd-lua", body); st >= 300 {
			t.Fatalf("PUT lua plugin: %d %s", st, resp)
		}
	}
	if st, resp := cp.adminCall("PUT", "/apisix/admin/lua_plugins/etcd-lua", `{"source": "return {}"}`); st != 400 {
		t.Fatalf("a module without name and priority: %d %s", st, resp)
	}
	put("v1")
	// The Admin API knows the plugin once its own node loaded it from etcd.
	waitUntil(t, "the plugin listed", func() bool {
		_, body := cp.adminCall("GET", "/apisix/admin/plugins/list", "")
		return strings.Contains(body, "etcd-lua")
	})
	route := fmt.Sprintf(`{"uri": "/hello", "plugins": {"etcd-lua": {"tag": "e"}}, "upstream": {"nodes": {%q: 1}}}`, o.addr)
	if st, resp := cp.adminCall("PUT", "/apisix/admin/routes/1", route); st >= 300 {
		t.Fatalf("%d %s", st, resp)
	}
	for _, g := range []*gatewayProc{cp.gatewayProc, dp.gatewayProc} {
		waitUntil(t, "v1 on "+g.addr, func() bool { return versionOf(g, "/hello") == "v1-e" })
	}
	put("v2")
	var seen atomic.Int32
	for _, g := range []*gatewayProc{cp.gatewayProc, dp.gatewayProc} {
		waitUntil(t, "v2 on "+g.addr, func() bool { return versionOf(g, "/hello") == "v2-e" })
		seen.Add(1)
	}
	if seen.Load() != 2 {
		t.Fatal("not every node runs v2")
	}
}

func versionOf(g *gatewayProc, path string) string {
	resp, err := http.Get("http://" + g.addr + path)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("X-Version")
}
