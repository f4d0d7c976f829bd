package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testport"
)

// sluiceBin is the sluice binary built for this run.
var sluiceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, "github.com/sluicegw/sluice/cmd/sluice")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// gatewayProc is a running sluice process.
type gatewayProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string // the proxy
	control string // the control API
	dir     string // holds config.yaml; the process's working directory
	log     *syncBuffer
	done    chan error
}

// syncBuffer collects the process's output.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startStandalone runs sluice in standalone (yaml) mode. extra is appended
// to config.yaml; routes is the body of apisix.yaml (without #END).
func startStandalone(t *testing.T, extra, routes string, env ...string) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "apisix.yaml"), routes+"\n#END\n")
	return startGateway(t, dir, "deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n"+extra, env...)
}

// startGateway writes config.yaml into dir (the proxy and control API on
// free ports, then cfg) and runs sluice on it until it listens.
func startGateway(t *testing.T, dir, cfg string, env ...string) *gatewayProc {
	t.Helper()
	return startGatewayWith(t, dir, "", cfg, env...)
}

// startGatewayWith is startGateway with more keys of config.yaml's apisix
// section (apisixExtra, each line indented by two spaces).
func startGatewayWith(t *testing.T, dir, apisixExtra, cfg string, env ...string) *gatewayProc {
	t.Helper()
	port, control := testport.Port(t), testport.Port(t)
	full := fmt.Sprintf("apisix:\n  node_listen:\n    - ip: 127.0.0.1\n      port: %d\n  control:\n    ip: 127.0.0.1\n    port: %d\n%s%s", port, control, apisixExtra, cfg)
	// The prometheus exporter binds 127.0.0.1:9091 by default, so two
	// gateways in one test (or two test binaries at once) would collide;
	// each gets its own port unless the test places the exporter itself.
	if !strings.Contains("\n"+cfg, "\nplugin_attr:") {
		if !strings.HasSuffix(full, "\n") {
			full += "\n"
		}
		full += fmt.Sprintf("plugin_attr:\n  prometheus:\n    export_addr: {ip: 127.0.0.1, port: %d}\n", testport.Port(t))
	}
	writeFile(t, filepath.Join(dir, "config.yaml"), full)
	g := &gatewayProc{t: t, addr: "127.0.0.1:" + strconv.Itoa(port), control: "127.0.0.1:" + strconv.Itoa(control),
		dir: dir, log: &syncBuffer{}, done: make(chan error, 1)}
	g.start(env...)
	return g
}

// start runs the process on g's config and waits until it listens.
func (g *gatewayProc) start(env ...string) {
	g.t.Helper()
	g.cmd = exec.Command(sluiceBin, "run", "-c", filepath.Join(g.dir, "config.yaml"))
	g.cmd.Dir = g.dir
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	g.cmd.Env = append(os.Environ(), env...)
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	done := make(chan error, 1)
	g.done = done
	go func() { done <- g.cmd.Wait() }()
	g.t.Cleanup(g.kill)
	g.waitListening()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (g *gatewayProc) waitListening() {
	g.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", g.addr)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case err := <-g.done:
			g.done <- err // kill (the cleanup) waits for it too
			g.t.Fatalf("sluice exited before listening: %v\n%s", err, g.log.String())
		default:
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("sluice never listened on %s\n%s", g.addr, g.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns the exit error (nil for exit 0).
func (g *gatewayProc) stop() error {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		g.done <- err // keep it for kill
		return err
	case <-time.After(20 * time.Second):
		return fmt.Errorf("sluice did not exit after SIGTERM")
	}
}

func (g *gatewayProc) kill() {
	select {
	case err := <-g.done:
		g.done <- err
		return
	default:
	}
	_ = g.cmd.Process.Kill()
	<-g.done
}

// rssBytes reads the process's resident set size from /proc.
func (g *gatewayProc) rssBytes() int64 {
	g.t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		g.t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				g.t.Fatal(err)
			}
			return kb << 10
		}
	}
	g.t.Fatal("no VmRSS in /proc status")
	return 0
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
