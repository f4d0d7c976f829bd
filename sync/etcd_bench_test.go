package sync

import (
	"context"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/embedetcd"
	"github.com/sluicegw/sluice/internal/testport"
)

// BenchmarkEtcdFetch is reading n routes from an embedded etcd, nothing
// decoded: what listing costs etcd and the client (issue 13's 1M-route
// load). etcd runs in this process, so its CPU is in the profile too.
func BenchmarkEtcdFetch(b *testing.B) {
	for _, n := range []int{100_000, 300_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cli := benchEtcd(b, n)
			src := &EtcdSource{Client: cli}
			b.ReportAllocs()
			for b.Loop() {
				got := 0
				_, err := src.fetch(context.Background(), func(kvs []*mvccpb.KeyValue) bool {
					got += len(kvs)
					return true
				})
				if err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatalf("fetched %d keys, want %d", got, n)
				}
			}
		})
	}
}

// benchEtcd starts an embedded etcd holding n routes (routeSet's) and
// returns a client of it.
func benchEtcd(b *testing.B, n int) *clientv3.Client {
	b.Helper()
	e, err := embedetcd.Start(embedetcd.Options{DataDir: b.TempDir(), ClientAddr: testport.Addr(b), PeerAddr: testport.Addr(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	cli, err := DialEtcd(EtcdOptions{Endpoints: []string{e.Endpoint}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	ops := make([]clientv3.Op, 0, 128) // etcd's default --max-txn-ops
	flush := func() {
		if _, err := cli.Txn(context.Background()).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
		ops = ops[:0]
	}
	for i := range n {
		ops = append(ops, clientv3.OpPut(fmt.Sprint("/apisix/routes/", i),
			fmt.Sprintf(`{"id": "%d", "uri": "/svc%d/api/v1/res%d", "methods": ["GET"], "upstream_id": "a", "priority": 0, "status": 1}`, i, i%100, i)))
		if len(ops) == cap(ops) {
			flush()
		}
	}
	if len(ops) > 0 {
		flush()
	}
	return cli
}
