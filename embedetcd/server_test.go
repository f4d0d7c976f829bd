package embedetcd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/sluicegw/sluice/internal/testport"
)

func start(t *testing.T, dir, clientAddr string) *Server {
	t.Helper()
	s, err := Start(Options{DataDir: dir, ClientAddr: clientAddr, PeerAddr: testport.Addr(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func client(t *testing.T, s *Server) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// The data directory is the cluster: a restart on it serves the same keys
// at the same revisions.
func TestRestartKeepsData(t *testing.T) {
	dir, addr := filepath.Join(t.TempDir(), "etcd"), testport.Addr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	s := start(t, dir, addr)
	if want := "http://" + addr; s.Endpoint != want {
		t.Fatalf("endpoint %q, want %q", s.Endpoint, want)
	}
	cli := client(t, s)
	put, err := cli.Put(ctx, "/apisix/routes/1", `{"uri": "/a"}`)
	if err != nil {
		t.Fatal(err)
	}
	cli.Close()
	s.Close()
	s.Close() // idempotent

	s = start(t, dir, addr)
	defer s.Close()
	cli = client(t, s)
	defer cli.Close()
	got, err := cli.Get(ctx, "/apisix/routes/1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != `{"uri": "/a"}` || got.Kvs[0].ModRevision != put.Header.Revision {
		t.Fatalf("after restart: %v", got.Kvs)
	}
}

func TestStartErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"data dir is a file": {DataDir: filepath.Join(file, "etcd"), ClientAddr: testport.Addr(t), PeerAddr: testport.Addr(t)},
		"bad client address": {DataDir: t.TempDir(), ClientAddr: "127.0.0.1:notaport", PeerAddr: testport.Addr(t)},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Start(o)
			if err == nil {
				s.Close()
				t.Fatal("started")
			}
			if !strings.HasPrefix(err.Error(), "embedetcd: ") {
				t.Errorf("error %q does not name the package", err)
			}
		})
	}
}
