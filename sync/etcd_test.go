package sync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/embedetcd"
	"github.com/sluicegw/sluice/internal/testport"
	"github.com/sluicegw/sluice/trie"
)

// startEtcd starts an embedded etcd in dir (a fresh temp dir if empty) on
// clientAddr (a free port if empty).
func startEtcd(t *testing.T, dir, clientAddr string) *embedetcd.Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if clientAddr == "" {
		clientAddr = testport.Addr(t)
	}
	e, err := embedetcd.Start(embedetcd.Options{DataDir: dir, ClientAddr: clientAddr, PeerAddr: testport.Addr(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close) // registered first, so it runs after the clients' cleanups
	return e
}

// syncHarness runs an EtcdSource against an embedded etcd and lets a test
// wait for the snapshot that reflects a given revision.
type syncHarness struct {
	t         *testing.T
	cli       *clientv3.Client
	src       *EtcdSource
	published chan *Snapshot
	problems  chan string
}

func newSyncHarness(t *testing.T, endpoint string) *syncHarness {
	cli, err := DialEtcd(EtcdOptions{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	h := &syncHarness{t: t, cli: cli, published: make(chan *Snapshot, 100), problems: make(chan string, 100)}
	h.src = &EtcdSource{
		Client:         cli,
		Store:          NewStore(),
		Builder:        &Builder{Mode: trie.URI},
		RequestTimeout: 2 * time.Second,
		PageSize:       3, // several pages even for small tests
		CheckInterval:  200 * time.Millisecond,
		Events:         Events{Published: func(s *Snapshot) { h.published <- s }},
	}
	return h
}

func (h *syncHarness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.src.Run(ctx); close(done) }()
	h.t.Cleanup(func() { cancel(); <-done })
}

func (h *syncHarness) put(key, value string) int64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := h.cli.Put(ctx, "/apisix/"+key, value)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Header.Revision
}

func (h *syncHarness) del(key string) int64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := h.cli.Delete(ctx, "/apisix/"+key)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Header.Revision
}

// waitRev waits for a published snapshot at revision rev or later.
func (h *syncHarness) waitRev(rev int64) *Snapshot {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-h.published:
			if s.Version >= rev {
				return s
			}
		case <-deadline:
			h.t.Fatalf("no snapshot at revision %d (source at %d)", rev, h.src.Revision())
		}
	}
}

func get(s *Snapshot, path string) string {
	r := s.Match(&trie.Query{Path: []byte(path), Method: 1 << 1, RemoteAddr: netip.MustParseAddr("127.0.0.1")})
	switch {
	case r == nil:
		return "404"
	case s.UpstreamOf(r) == nil:
		return fmt.Sprint(r.Status)
	}
	return s.UpstreamOf(r).Nodes[0].Addr
}

func TestEtcdSourceFollowsWrites(t *testing.T) {
	e := startEtcd(t, "", "")
	h := newSyncHarness(t, e.Endpoint)
	// What an APISIX control plane leaves in etcd besides objects.
	h.put("routes/", "init_dir")
	h.put("plugins", `[{"name":"key-auth"}]`)
	h.put("stream_routes/1", `{"server_port": 9100}`)
	h.put("upstreams/u1", `{"nodes": {"10.0.0.1:80": 1}, "type": "roundrobin"}`)
	for i := range 7 {
		h.put(fmt.Sprintf("routes/%d", i), fmt.Sprintf(`{"uri": "/r%d", "upstream_id": "u1"}`, i))
	}
	rev := h.put("routes/bad", `{"uri": "/bad", "methods": ["FETCH"], "upstream_id": "u1"}`)
	h.run()
	s := h.waitRev(rev)
	<-h.src.Ready()
	if got := s.Routes(); got != 7 {
		t.Fatalf("%d routes after the first load, want 7 (the invalid one skipped)", got)
	}
	if get(s, "/r3") != "10.0.0.1:80" || get(s, "/bad") != "404" {
		t.Fatalf("/r3 %s, /bad %s", get(s, "/r3"), get(s, "/bad"))
	}

	// Writes arrive through the watch, one snapshot per response.
	h.put("upstreams/u1", `{"nodes": {"10.0.0.2:80": 1}, "type": "roundrobin"}`)
	s = h.waitRev(h.del("routes/3"))
	if get(s, "/r1") != "10.0.0.2:80" || get(s, "/r3") != "404" {
		t.Fatalf("after writes: /r1 %s, /r3 %s", get(s, "/r1"), get(s, "/r3"))
	}
	// An invalid write keeps the last good version.
	s = h.waitRev(h.put("routes/1", `{"uri": 12}`))
	if get(s, "/r1") != "10.0.0.2:80" {
		t.Fatalf("an invalid write replaced /r1: %s", get(s, "/r1"))
	}
	// Credentials live under their consumer.
	s = h.waitRev(h.put("consumers/jack/credentials/c1", `{"plugins": {}}`))
	if s.Version < 1 || h.src.Builder.st.objs[config.Credentials]["jack/c1"].obj == nil {
		t.Fatal("credential not stored under jack/c1")
	}
}

func TestEtcdSourceRelistsAfterCompaction(t *testing.T) {
	e := startEtcd(t, "", "")
	h := newSyncHarness(t, e.Endpoint)
	rev := h.put("routes/1", `{"uri": "/a", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`)
	h.run()
	h.waitRev(rev)

	// Stop following (a long GC pause, a network partition), let writes
	// happen and compact them away; the watch resumes from a compacted
	// revision and must fall back to a full listing.
	cli2, err := DialEtcd(EtcdOptions{Endpoints: []string{e.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli2.Close() })
	h2 := &syncHarness{t: t, cli: cli2}
	src2 := &EtcdSource{Client: cli2, Store: NewStore(), Builder: &Builder{Mode: trie.URI}, RequestTimeout: 2 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	firstRev, err := src2.relist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h2.put("routes/1", `{"uri": "/b", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`)
	last := h2.put("routes/2", `{"uri": "/c", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`)
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	if _, err := cli2.Compact(cctx, last); err != nil {
		t.Fatal(err)
	}
	ccancel()
	err = src2.watch(ctx, firstRev)
	if err == nil || !strings.Contains(err.Error(), "compacted") {
		t.Fatalf("watch from a compacted revision: %v", err)
	}
	if _, err := src2.relist(ctx); err != nil {
		t.Fatal(err)
	}
	s := src2.Store.Load()
	if get(s, "/a") != "404" || get(s, "/b") != "10.0.0.1:80" || get(s, "/c") != "10.0.0.1:80" {
		t.Fatalf("after the re-list: /a %s /b %s /c %s", get(s, "/a"), get(s, "/b"), get(s, "/c"))
	}
}

// An etcd whose revision went backwards (restored from an old snapshot, or
// a new cluster behind the same address) would leave a resumed watch
// waiting for revisions that never come. The progress check notices and the
// source lists everything again. The test moves the client from one server
// to a fresh one, which is what a client sees when the cluster behind its
// endpoint is replaced.
func TestEtcdSourceNoticesRevisionGoingBack(t *testing.T) {
	old := startEtcd(t, "", "")
	fresh := startEtcd(t, "", "")
	h := newSyncHarness(t, old.Endpoint)
	for i := range 20 {
		h.put("routes/1", fmt.Sprintf(`{"uri": "/old%d", "upstream": {"nodes": {"10.0.0.1:80": 1}}}`, i))
	}
	h.run()
	h.waitRev(21)

	freshCli, err := DialEtcd(EtcdOptions{Endpoints: []string{fresh.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { freshCli.Close() })
	(&syncHarness{t: t, cli: freshCli}).put("routes/2", `{"uri": "/new", "upstream": {"nodes": {"10.0.0.3:80": 1}}}`)
	h.cli.SetEndpoints(fresh.Endpoint)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := h.src.Store.Load()
		if get(s, "/new") == "10.0.0.3:80" && get(s, "/old19") == "404" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("config never caught up with the new cluster (source at revision %d)", h.src.Revision())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKeyOf(t *testing.T) {
	for _, tc := range []struct{ key, kind, id string }{
		{"routes/1", "routes", "1"},
		{"routes/", "", ""},
		{"routes", "", ""},
		{"plugins", "", ""},
		{"gen_id", "", ""},
		{"stream_routes/1", "", ""},
		{"consumers/jack", "consumers", "jack"},
		{"consumers/jack/credentials/c1", "credentials", "jack/c1"},
		{"consumers/jack/credentials/", "", ""},
		{"credentials/c1", "", ""},
		{"routes/a/b", "", ""},
		{"plugin_metadata/http-logger", "plugin_metadata", "http-logger"},
	} {
		k, id, ok := KeyOf(tc.key)
		got := ""
		if ok {
			got = k.Name + " " + id
		}
		if want := strings.TrimSpace(tc.kind + " " + tc.id); got != want {
			t.Errorf("KeyOf(%q) = %q, want %q", tc.key, got, want)
		}
	}
}

// rangeOnlyKV is etcd's KV service as a cluster before 3.7 serves it,
// without RangeStream; Range goes to a real etcd.
type rangeOnlyKV struct {
	pb.UnimplementedKVServer
	kv pb.KVClient
}

func (p rangeOnlyKV) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	return p.kv.Range(ctx, r)
}

// serveRangeOnly puts a rangeOnlyKV in front of the etcd cli talks to and
// returns its endpoint.
func serveRangeOnly(t *testing.T, cli *clientv3.Client) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterKVServer(srv, rangeOnlyKV{kv: pb.NewKVClient(cli.ActiveConnection())})
	go func() { _ = srv.Serve(l) }() // returns when stopped
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// TestEtcdFetch lists a prefix through a stream (etcd 3.7) and page by
// page (an etcd without RangeStream): every key once, in order, at the
// revision of the listing's start, however many chunks it takes and
// whatever is written meanwhile.
func TestEtcdFetch(t *testing.T) {
	e := startEtcd(t, "", "")
	direct := newSyncHarness(t, e.Endpoint)
	var want []string
	var rev int64
	for i := range 100 {
		key := fmt.Sprintf("routes/%03d", i)
		want = append(want, "/apisix/"+key)
		rev = direct.put(key, fmt.Sprintf(`{"uri": "/r%d"}`, i))
	}
	for _, tc := range []struct{ name, endpoint string }{
		{"stream", e.Endpoint},
		{"pages", serveRangeOnly(t, direct.cli)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSyncHarness(t, tc.endpoint)
			var got []string
			var value50 string
			chunks := 0
			gotRev, err := h.src.fetch(context.Background(), func(kvs []*mvccpb.KeyValue) bool {
				chunks++
				for _, kv := range kvs {
					got = append(got, string(kv.Key))
					if string(kv.Key) == "/apisix/routes/050" {
						value50 = string(kv.Value)
					}
				}
				if chunks == 1 { // later chunks must not see these
					direct.put("routes/050", `{"uri": "/changed"}`)
					direct.put("routes/zzz", `{"uri": "/new"}`)
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if chunks < 3 {
				t.Errorf("%d chunks: the test wants several", chunks)
			}
			if gotRev != rev {
				t.Errorf("revision %d, want %d", gotRev, rev)
			}
			if !slices.Equal(got, want) {
				t.Errorf("listed %d keys %q..., want %d", len(got), got[:min(5, len(got))], len(want))
			}
			if value50 != `{"uri": "/r50"}` {
				t.Errorf("routes/050 listed as %s, a write made after the listing began", value50)
			}
			direct.del("routes/zzz")
			rev = direct.put("routes/050", `{"uri": "/r50"}`)
		})
	}
}

// stallingKV streams one chunk of a range and then nothing, as an etcd
// that stopped answering mid-stream.
type stallingKV struct {
	pb.UnimplementedKVServer
}

func (stallingKV) RangeStream(_ *pb.RangeRequest, s grpc.ServerStreamingServer[pb.RangeStreamResponse]) error {
	kv := &mvccpb.KeyValue{Key: []byte("/apisix/routes/1"), Value: []byte(`{"uri": "/a"}`)}
	if err := s.Send(&pb.RangeStreamResponse{RangeResponse: &pb.RangeResponse{Kvs: []*mvccpb.KeyValue{kv}}}); err != nil {
		return err
	}
	<-s.Context().Done()
	return s.Context().Err()
}

// TestEtcdFetchStalled: a stream that stops mid-way fails after the
// request timeout rather than waiting forever.
func TestEtcdFetchStalled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterKVServer(srv, stallingKV{})
	go func() { _ = srv.Serve(l) }() // returns when stopped
	t.Cleanup(srv.Stop)
	h := newSyncHarness(t, l.Addr().String())
	h.src.RequestTimeout = 100 * time.Millisecond
	got := 0
	_, err = h.src.fetch(context.Background(), func(kvs []*mvccpb.KeyValue) bool {
		got += len(kvs)
		return true
	})
	if !errors.Is(err, errStalled) || got != 1 {
		t.Fatalf("got %d keys and error %v, want 1 and %v", got, err, errStalled)
	}
}
