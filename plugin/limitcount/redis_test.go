package limitcount

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// runParked runs a request through the plugin as the engine does: Access,
// and when it parks, the job's Run (a worker's side) and Resume.
func runParked(p *limitCount, c *reqctx.Ctx) reqctx.Result {
	res := p.Access(c)
	if res == reqctx.Parked {
		j := c.TakeParked()
		j.Run()
		res = j.Resume(c)
	}
	return res
}

func TestRedisPolicy(t *testing.T) {
	port := plugintest.Redis(t)
	p := instance(t, "/apisix/routes/"+t.Name(), `{"count": 2, "time_window": 60, "policy": "redis",
		"redis_host": "127.0.0.1", "redis_port": `+strconv.Itoa(port)+`}`, NewStore(0, nil))
	r := plugintest.NewCtx(t, get("/hello"))
	var got []string
	for range 3 {
		res := runParked(p, r)
		got = append(got, res.String()+" "+header(r, "X-RateLimit-Remaining")+" "+header(r, "X-RateLimit-Reset"))
		plugintest.Reset(t, r, get("/hello"))
	}
	if got[0] != "continue 1 60" || got[1][:len("continue 0 ")] != "continue 0 " || got[2][:len("stop 0 ")] != "stop 0 " {
		t.Fatalf("results %q", got)
	}
	// A request whose client went away only cleans up.
	if p.Access(r) != reqctx.Parked {
		t.Fatal("not parked")
	}
	j := r.TakeParked()
	j.Run()
	if j.Resume(nil) != reqctx.Stop {
		t.Fatal("abandoned job continued")
	}
}

// The sliding window on Redis: APISIX's keys ("plugin-limit-count:<key>.<window
// id>.counter") and check_incr script; only admitted requests count.
func TestRedisSlidingWindow(t *testing.T) {
	port := plugintest.Redis(t)
	p := instance(t, "/apisix/routes/"+t.Name(), `{"count": 2, "time_window": 60, "window_type": "sliding",
		"policy": "redis", "redis_host": "127.0.0.1", "redis_port": `+strconv.Itoa(port)+`}`, NewStore(0, nil))
	r := plugintest.NewCtx(t, get("/hello"))
	var got []string
	for range 4 {
		res := runParked(p, r)
		got = append(got, res.String()+" "+header(r, "X-RateLimit-Remaining"))
		plugintest.Reset(t, r, get("/hello"))
	}
	// Two windows may be involved if the test crosses a minute boundary:
	// then the previous window's share keeps the third out all the same.
	if got[0] != "continue 1" || got[2] != "stop 0" || got[3] != "stop 0" {
		t.Fatalf("results %q", got)
	}
}

// The redis-sentinel policy: the master comes from a real Sentinel
// (redis-server --sentinel) watching a real redis-server.
func TestRedisSentinelPolicy(t *testing.T) {
	master := plugintest.Redis(t)
	bin, _ := exec.LookPath("redis-server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	conf := dir + "/sentinel.conf"
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %d 1\n", port, dir, master)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := instance(t, "/apisix/routes/"+t.Name(), fmt.Sprintf(`{"count": 2, "time_window": 60, "policy": "redis-sentinel",
		"redis_sentinels": [{"host": "127.0.0.1", "port": %d}], "redis_master_name": "mymaster"}`, port), NewStore(0, nil))
	r := plugintest.NewCtx(t, get("/hello"))
	// Until the Sentinel listens, requests fail (500); then they count.
	deadline := time.Now().Add(10 * time.Second)
	for runParked(p, r) != reqctx.Continue || header(r, "X-RateLimit-Remaining") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("no count through the sentinel: %d %s", r.Status, header(r, "X-RateLimit-Remaining"))
		}
		time.Sleep(20 * time.Millisecond)
		plugintest.Reset(t, r, get("/hello"))
	}
	plugintest.Reset(t, r, get("/hello"))
	runParked(p, r)
	plugintest.Reset(t, r, get("/hello"))
	if res := runParked(p, r); res != reqctx.Stop || r.Status != 503 {
		t.Fatalf("third: %v %d", res, r.Status)
	}
}
