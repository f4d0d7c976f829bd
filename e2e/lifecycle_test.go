package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// delayedUpstream answers every request after delay.
func delayedUpstream(t *testing.T, delay time.Duration, started chan<- struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case started <- struct{}{}:
			default:
			}
			time.Sleep(delay)
		}
		_, _ = io.WriteString(w, "done")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	started := make(chan struct{}, 1)
	up := delayedUpstream(t, time.Second, started)
	g := startStandalone(t, "", routeYAML(up))

	busy, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	idle, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprint(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started // the request is at the upstream

	exited := make(chan error, 1)
	go func() { exited <- g.stop() }()

	// New connections are refused once the listeners close.
	waitUntil(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", g.addr, time.Second)
		if err != nil {
			return errors.Is(err, syscall.ECONNREFUSED)
		}
		_ = c.Close()
		return false
	})
	// The idle keep-alive connection is closed at once.
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("idle connection: read %d bytes, %v; want it closed", n, err)
	}
	// The in-flight request completes, told the connection closes.
	_ = busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "done" || !resp.Close {
		t.Fatalf("in-flight request: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	if err := <-exited; err != nil {
		t.Fatalf("exit: %v\n%s", err, g.log.String())
	}
	if !strings.Contains(g.log.String(), "stopped") {
		t.Errorf("no stop log line:\n%s", g.log.String())
	}
}

func TestShutdownGraceBoundsTheWait(t *testing.T) {
	started := make(chan struct{}, 1)
	up := delayedUpstream(t, time.Hour, started)
	g := startStandalone(t, "sluice:\n  shutdown_grace: 1s\n", routeYAML(up))
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	start := time.Now()
	if err := g.stop(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("shutdown took %v with a 1s grace period", took)
	}
	if !strings.Contains(g.log.String(), "grace period over") {
		t.Errorf("no log line about the cut-off:\n%s", g.log.String())
	}
}

func TestBrokenStartupConfigExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.yaml"), "deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n")
	writeFile(t, filepath.Join(dir, "apisix.yaml"), "routes:\n  - uri: /x\n") // no #END, no upstream
	cmd := exec.Command(sluiceBin, "run", "-c", filepath.Join(dir, "config.yaml"))
	cmd.Dir = dir // logs/access.log is relative to the working directory
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "missing valid end flag #END") {
		t.Fatalf("error does not say what is wrong:\n%s", out)
	}
}

// TestStandaloneReload: an edited apisix.yaml is applied without a restart;
// a broken edit is rejected and the previous routes keep serving.
func TestStandaloneReload(t *testing.T) {
	up := delayedUpstream(t, 0, nil)
	g := startStandalone(t, "", "routes:\n  - uri: /one\n    upstream:\n      nodes:\n        \""+up+"\": 1\n")
	get := func(path string) int {
		resp, err := http.Get("http://" + g.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/one") != 200 || get("/two") != 404 {
		t.Fatal("initial routes wrong")
	}
	file := filepath.Join(g.dir, "apisix.yaml")
	writeFile(t, file, "routes:\n  - uri: /two\n    upstream:\n      nodes:\n        \""+up+"\": 1\n#END\n")
	waitUntil(t, "the edit to apply", func() bool { return get("/two") == 200 })
	if get("/one") != 404 {
		t.Fatal("old route still served after reload")
	}
	// A broken file (no #END: half-written) is rejected whole.
	writeFile(t, file, "routes:\n  - uri: /three\n    upstream:\n      nodes:\n        \""+up+"\": 1\n")
	waitUntil(t, "the rejection to be logged", func() bool {
		return strings.Contains(g.log.String(), "config rejected")
	})
	if get("/two") != 200 || get("/three") != 404 {
		t.Fatal("a rejected file changed the routes")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
