package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/sluicegw/sluice/internal/testport"
)

// The admin keys every etcd-backed test gateway accepts (the golden file
// uses both).
const (
	adminKey  = "edd1c9f034335f136f87ad84b625c8f1"
	viewerKey = "viewer-key"
)

var (
	etcdBuild    sync.Once
	etcdBinPath  string
	etcdBuildErr error
)

// etcdBinary returns an etcd server binary: $SLUICE_ETCD_BIN (e.g. Debian's
// 3.4 /usr/bin/etcd), else etcd 3.7 built from the module this repository
// already depends on (go.mod's tool line), so no download is needed.
func etcdBinary(t *testing.T) string {
	t.Helper()
	etcdBuild.Do(func() {
		if p := os.Getenv("SLUICE_ETCD_BIN"); p != "" {
			etcdBinPath = p
			return
		}
		etcdBinPath = filepath.Join(filepath.Dir(sluiceBin), "etcd")
		build := exec.Command("go", "build", "-o", etcdBinPath, "go.etcd.io/etcd/server/v3")
		if out, err := build.CombinedOutput(); err != nil {
			etcdBuildErr = fmt.Errorf("building etcd: %v\n%s", err, out)
		}
	})
	if etcdBuildErr != nil {
		t.Fatal(etcdBuildErr)
	}
	return etcdBinPath
}

// etcdProc is an etcd server process.
type etcdProc struct {
	t         *testing.T
	dir       string
	clientURL string
	peerURL   string
	cmd       *exec.Cmd
	done      chan error
	log       *syncBuffer
	cli       *clientv3.Client
}

func startEtcd(t *testing.T) *etcdProc {
	t.Helper()
	e := &etcdProc{
		t:         t,
		dir:       t.TempDir(),
		clientURL: "http://127.0.0.1:" + strconv.Itoa(testport.Port(t)),
		peerURL:   "http://127.0.0.1:" + strconv.Itoa(testport.Port(t)),
		log:       &syncBuffer{},
	}
	e.start()
	e.cli = etcdClient(t, e.clientURL)
	return e
}

// etcdClient returns a client that reconnects within a second or two of
// the server coming back (gRPC's default backoff grows to two minutes).
func etcdClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 5 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, MaxDelay: time.Second},
		})},
		Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func (e *etcdProc) start() {
	e.t.Helper()
	e.cmd = exec.Command(etcdBinary(e.t),
		"--name", "e2e", "--data-dir", e.dir,
		"--listen-client-urls", e.clientURL, "--advertise-client-urls", e.clientURL,
		"--listen-peer-urls", e.peerURL, "--initial-advertise-peer-urls", e.peerURL,
		"--initial-cluster", "e2e="+e.peerURL, "--log-level", "error")
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	e.done = done
	go func() { done <- e.cmd.Wait() }()
	e.t.Cleanup(func() {
		_ = e.cmd.Process.Kill()
		<-done
		done <- nil
	})
	// Ready when a linearizable read succeeds.
	cli := etcdClient(e.t, e.clientURL)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("etcd never became ready: %v\n%s", err, e.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// crash kills the server (SIGKILL: no goodbye to its clients) and waits
// for it. A graceful stop would wait for the clients' watch streams.
func (e *etcdProc) crash() {
	e.t.Helper()
	_ = e.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case err := <-e.done:
		e.done <- err
	case <-time.After(20 * time.Second):
		e.t.Fatal("etcd did not stop")
	}
}

func (e *etcdProc) put(key, value string) int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.cli.Put(ctx, "/apisix"+key, value)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Header.Revision
}

// etcdGateway runs sluice on an etcd. role is traditional (Admin API on a
// free port) or data_plane. endpoint "" means sluice's embedded etcd.
type etcdGateway struct {
	*gatewayProc
	admin    string // "" for a data plane
	endpoint string // where the etcd is
	role     string
	cli      *clientv3.Client // made by the first waitSynced
}

func startEtcdGateway(t *testing.T, role, endpoint, extra string) *etcdGateway {
	t.Helper()
	return startEtcdGatewayWith(t, role, endpoint, "", extra)
}

// startEtcdGatewayWith is startEtcdGateway with more keys of config.yaml's
// apisix section (apisixExtra, each line indented by two spaces).
func startEtcdGatewayWith(t *testing.T, role, endpoint, apisixExtra, extra string) *etcdGateway {
	t.Helper()
	dir := t.TempDir()
	adminPort := testport.Port(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "deployment:\n  role: %s\n", role)
	if role == "data_plane" {
		cfg.WriteString("  role_data_plane:\n    config_provider: etcd\n")
	}
	fmt.Fprintf(&cfg, "  admin:\n    admin_key:\n      - {name: admin, key: %s, role: admin}\n      - {name: viewer, key: %s, role: viewer}\n"+
		"    admin_listen: {ip: 127.0.0.1, port: %d}\n", adminKey, viewerKey, adminPort)
	if endpoint == "" {
		client := "127.0.0.1:" + strconv.Itoa(testport.Port(t))
		fmt.Fprintf(&cfg, "sluice:\n  embedded_etcd:\n    enable: true\n    data_dir: %s\n    client_listen: %s\n    peer_listen: 127.0.0.1:%d\n",
			filepath.Join(dir, "etcd"), client, testport.Port(t))
		endpoint = "http://" + client
	} else {
		fmt.Fprintf(&cfg, "  etcd:\n    host: [%q]\n    prefix: /apisix\n    timeout: 2\n", endpoint)
	}
	cfg.WriteString(extra)
	g := &etcdGateway{gatewayProc: startGatewayWith(t, dir, apisixExtra, cfg.String()), endpoint: endpoint, role: role}
	if role != "data_plane" {
		g.admin = "http://127.0.0.1:" + strconv.Itoa(adminPort)
	}
	g.waitReady()
	return g
}

// waitReady waits for /status/ready: the first full load is applied.
func (g *etcdGateway) waitReady() {
	g.t.Helper()
	waitUntil(g.t, "sluice ready", func() bool {
		resp, err := http.Get("http://" + g.control + "/status/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// adminCall sends one Admin API request with the admin key.
func (g *etcdGateway) adminCall(method, path, body string) (int, string) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.admin+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("X-API-KEY", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if method != http.MethodGet && resp.StatusCode < 300 {
		g.waitSynced()
	}
	return resp.StatusCode, string(b)
}

// waitSynced waits until this node serves everything written to etcd so
// far: its control API's /v1/sync revision reaches etcd's. A test's next
// request then meets the configuration it just wrote, never the one before.
func (g *etcdGateway) waitSynced() {
	g.t.Helper()
	if g.role == "control_plane" {
		return // it serves no traffic
	}
	if g.cli == nil {
		g.cli = etcdClient(g.t, g.endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	head, err := g.cli.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		g.t.Fatalf("etcd revision: %v", err)
	}
	want := head.Header.Revision
	var st struct{ Revision int64 }
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(time.Millisecond) {
		if resp, err := http.Get("http://" + g.control + "/v1/sync"); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && st.Revision >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("the node serves etcd revision %d, not %d, after 15s", st.Revision, want)
		}
	}
}

// get sends GET path through the proxy and returns status and body.
func (g *gatewayProc) get(path string) (int, string) {
	g.t.Helper()
	resp, err := http.Get("http://" + g.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitServes waits until GET path answers status with body containing want.
func (g *gatewayProc) waitServes(path string, status int, want string) {
	g.t.Helper()
	var gotStatus int
	var gotBody string
	deadline := time.Now().Add(10 * time.Second)
	for {
		gotStatus, gotBody = g.get(path)
		if gotStatus == status && strings.Contains(gotBody, want) {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("GET %s: %d %q, want %d with %q\n%s", path, gotStatus, gotBody, status, want, g.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// namedUpstream answers every request with its name.
func namedUpstream(t *testing.T, name string) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name+" "+r.URL.Path)
	})}
	ln := listenLoopback(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
