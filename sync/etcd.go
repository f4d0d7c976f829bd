package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluicegw/sluice/config"
)

// DefaultPrefix is APISIX's etcd prefix.
const DefaultPrefix = "/apisix"

// EtcdOptions says how to reach etcd (deployment.etcd).
type EtcdOptions struct {
	Endpoints []string
	Username  string
	Password  string
	// DialTimeout bounds the first connection; zero means 5 s.
	DialTimeout time.Duration
}

// DialEtcd returns a client for the cluster. It does not wait for the
// cluster to answer (client v3.7 connects lazily); every call made with it
// must carry a deadline, or it waits forever while etcd is down.
func DialEtcd(o EtcdOptions) (*clientv3.Client, error) {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	eps := make([]string, len(o.Endpoints))
	for i, e := range o.Endpoints {
		// APISIX writes hosts as URLs; the client wants host:port or URLs
		// with a scheme it knows.
		eps[i] = strings.TrimSuffix(e, "/")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            eps,
		Username:             o.Username,
		Password:             o.Password,
		DialTimeout:          o.DialTimeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		// gRPC's default reconnect backoff grows to 2 minutes; an etcd
		// back from a restart should be noticed within seconds.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		})},
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("sync: etcd client for %v: %w", o.Endpoints, err)
	}
	return cli, nil
}

// EtcdSource keeps a Store in step with an etcd prefix in APISIX's layout:
// one ranged Get, then one Watch from the next revision, applying each
// watch response as one batch (one snapshot). On compaction, on a cluster
// whose revision went backwards (restored or wiped) and after any error it
// lists everything again and applies it as a full re-list (unchanged items
// are not decoded again). While etcd is unreachable the last snapshot
// keeps serving; reconnection backs off from 1 s to 30 s with jitter.
type EtcdSource struct {
	Client  *clientv3.Client
	Prefix  string // default DefaultPrefix
	Store   *Store
	Builder *Builder
	Events  Events
	Logger  *slog.Logger
	// RequestTimeout bounds each Get; zero means 10 s.
	RequestTimeout time.Duration
	// PageSize is how many keys one Get returns when listing from a
	// cluster without RangeStream (before etcd 3.7; a stream's chunks are
	// sized by etcd); zero means 5000.
	PageSize int64
	// CheckInterval is how often a watching source asks etcd for its
	// current revision: to notice a cluster that went back in time (a
	// watch resumed on it would wait forever for revisions it is behind)
	// and an etcd that stopped answering. Zero means 5 s.
	CheckInterval time.Duration

	rev        atomic.Int64
	rebuild    rebuilder
	ready      chan struct{}
	readyInit  stdsync.Once // makes ready
	readyClose stdsync.Once // closes ready
}

// Rebuild recompiles the whole configuration on the source's goroutine and
// publishes it (plugins reload); it returns once the new snapshot serves,
// or ctx ends. Requests wait while the source is between watches.
func (e *EtcdSource) Rebuild(ctx context.Context) error { return e.rebuilds().ask(ctx) }

func (e *EtcdSource) rebuilds() *rebuilder {
	e.Ready() // makes the channels
	return &e.rebuild
}

// Revision is the etcd revision the current snapshot reflects.
func (e *EtcdSource) Revision() int64 { return e.rev.Load() }

// Ready is closed once the first full listing is applied.
func (e *EtcdSource) Ready() <-chan struct{} {
	e.readyInit.Do(func() { e.ready = make(chan struct{}); e.rebuild.reqs = make(chan chan error) })
	return e.ready
}

var errRevisionWentBack = errors.New("etcd revision went backwards (cluster restored or wiped)")

// Run syncs until ctx ends. It never gives up: every failure is logged and
// retried.
func (e *EtcdSource) Run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		rev, err := e.relist(ctx)
		if err == nil {
			backoff = time.Second
			err = e.watch(ctx, rev)
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, errRevisionWentBack) {
			e.logger().Warn("reading the configuration again", "reason", err)
			continue
		}
		wait := backoff + rand.N(backoff/2+1)
		e.logger().Error("etcd sync failed; the last configuration keeps serving", "err", err, "retry_in", wait.Round(time.Millisecond))
		if e.Events.Rejected != nil {
			e.Events.Rejected(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (e *EtcdSource) prefix() string {
	if e.Prefix == "" {
		return DefaultPrefix
	}
	return strings.TrimSuffix(e.Prefix, "/")
}

func (e *EtcdSource) timeout() time.Duration {
	if e.RequestTimeout <= 0 {
		return 10 * time.Second
	}
	return e.RequestTimeout
}

// relist reads the whole prefix at one revision and applies it. Chunks are
// decoded while the next ones are fetched: on a large config the etcd round
// trips hide behind the decoding.
func (e *EtcdSource) relist(ctx context.Context) (int64, error) {
	start := time.Now()
	var gc *loadGC
	if e.Builder.st == nil { // the first load (loadgc.go)
		gc = startLoadGC()
		defer gc.done()
	}
	chunks := make(chan []*mvccpb.KeyValue, 2)
	type fetched struct {
		rev int64
		err error
	}
	result := make(chan fetched, 1)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(chunks)
		rev, err := e.fetch(fctx, func(kvs []*mvccpb.KeyValue) bool {
			select {
			case chunks <- kvs:
				return true
			case <-fctx.Done():
				return false
			}
		})
		result <- fetched{rev, err}
	}()
	// Each chunk's changes, joined once the listing is complete: appending
	// a million changes to one slice copied it again at every doubling, a
	// second of a 1M-route load.
	var parts [][]Change
	var problems []error
	for kvs := range chunks {
		part := make([]Change, 0, len(kvs))
		for _, kv := range kvs {
			if c, ok := e.change(kv, false); ok {
				part = append(part, c)
			}
		}
		problems = append(problems, e.Builder.Decode(part, true)...)
		parts = append(parts, part)
		if gc != nil {
			gc.progress()
		}
	}
	f := <-result
	if f.err != nil {
		return 0, f.err
	}
	rev := f.rev
	changes := slices.Concat(parts...)
	decoded := time.Since(start)
	if gc != nil {
		e.Builder.progress = gc.progress
	}
	snap, more := e.Builder.Apply(rev, changes, true)
	e.Builder.progress = nil
	e.logProblems(append(problems, more...))
	e.publish(snap, rev)
	e.Ready()
	e.readyClose.Do(func() { close(e.ready) })
	e.logger().Info("configuration loaded from etcd", "revision", rev, "objects", len(changes),
		"routes", snap.Routes(), "fetch+decode", decoded.Round(time.Millisecond), "total", time.Since(start).Round(time.Millisecond))
	return rev, nil
}

// errNoRangeStream: the cluster does not serve RangeStream (etcd before
// 3.7, or a proxy that does not pass it on).
var errNoRangeStream = errors.New("etcd does not serve RangeStream")

// errStalled: etcd sent nothing for a whole request timeout.
var errStalled = errors.New("etcd sent nothing within the request timeout")

// fetch reads the whole prefix at one revision, handing the keys to use
// chunk by chunk (use returns false to stop), and returns that revision.
//
// It streams the range (RangeStream, etcd 3.7) and falls back to a Get per
// page on a cluster that cannot. A paged Get costs etcd quadratic time: it
// answers every page with the count of the keys left, and counts them by
// walking the rest of its index, so 1M keys in pages of 5000 walk 100M
// index entries (issue 13). A stream's chunks do not count, and etcd sizes
// them to its --max-request-bytes, so memory stays bounded either way.
func (e *EtcdSource) fetch(ctx context.Context, use func(kvs []*mvccpb.KeyValue) bool) (int64, error) {
	rev, err := e.fetchStream(ctx, use)
	if errors.Is(err, errNoRangeStream) {
		return e.fetchPages(ctx, use)
	}
	return rev, err
}

func (e *EtcdSource) fetchStream(ctx context.Context, use func(kvs []*mvccpb.KeyValue) bool) (int64, error) {
	dir := e.prefix() + "/"
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The whole stream of a large config takes longer than one request
	// may (it goes at the pace of the decoding), so the timeout bounds
	// each wait for etcd instead.
	idle := time.AfterFunc(e.timeout(), func() { cancel(errStalled) })
	defer idle.Stop()
	stream, err := e.Client.GetStream(sctx, dir, clientv3.WithRange(clientv3.GetPrefixRangeEnd(dir)))
	if err != nil {
		return 0, streamErr(sctx, dir, err)
	}
	defer func() {
		// The client's reader goroutine ends after handing over its last
		// response, which nobody reads once this returns early.
		cancel(nil)
		for range stream {
		}
	}()
	var rev int64
	started := false
	for r := range stream {
		if err := r.Err(); err != nil {
			if !started && status.Code(err) == codes.Unimplemented {
				return 0, errNoRangeStream
			}
			return 0, streamErr(sctx, dir, err)
		}
		started = true
		idle.Stop()
		if !use(r.Kvs) {
			return 0, ctx.Err()
		}
		idle.Reset(e.timeout())
		if r.Header != nil { // the last chunk
			rev = r.Header.Revision
		}
	}
	if rev == 0 {
		return 0, fmt.Errorf("listing %s: the stream ended without its revision", dir)
	}
	return rev, nil
}

func streamErr(ctx context.Context, dir string, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
		err = cause
	}
	return fmt.Errorf("listing %s: %w", dir, err)
}

// fetchPages is fetch for a cluster without RangeStream: pages of
// PageSize keys, every page at the revision of the first.
func (e *EtcdSource) fetchPages(ctx context.Context, use func(kvs []*mvccpb.KeyValue) bool) (int64, error) {
	dir := e.prefix() + "/"
	end := clientv3.GetPrefixRangeEnd(dir)
	limit := e.PageSize
	if limit <= 0 {
		limit = 5000
	}
	var rev int64
	from := dir
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(limit)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		cctx, cancel := context.WithTimeout(ctx, e.timeout())
		resp, err := e.Client.Get(cctx, from, opts...)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("listing %s: %w", dir, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		if !use(resp.Kvs) {
			return 0, ctx.Err()
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// watch applies events after rev until the watch breaks, and says why.
func (e *EtcdSource) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := e.Client.Watch(wctx, e.prefix()+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	interval := e.CheckInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			// A linearizable read's header revision is at least every
			// revision already delivered; less means a different history.
			// (Progress requests cannot tell: etcd answers them only
			// once a watch's start revision exists.)
			cctx, ccancel := context.WithTimeout(ctx, e.timeout())
			resp, err := e.Client.Get(cctx, e.prefix()+"/", clientv3.WithCountOnly())
			ccancel()
			if err != nil {
				return fmt.Errorf("checking etcd's revision: %w", err)
			}
			if resp.Header.Revision < e.rev.Load() {
				return errRevisionWentBack
			}
		case done := <-e.rebuilds().ch():
			e.rebuild.serve(done, e.Builder, e.rev.Load(), func(s *Snapshot) { e.publish(s, e.rev.Load()) }, e.logProblems)
		case <-e.Builder.DNSChanges():
			snap, problems := e.Builder.RefreshDNS(e.rev.Load())
			e.logProblems(problems)
			if snap != nil {
				e.publish(snap, e.rev.Load())
			}
		case wr, ok := <-wch:
			if !ok {
				return errors.New("watch closed")
			}
			if err := wr.Err(); err != nil {
				return fmt.Errorf("watch: %w", err)
			}
			if wr.Canceled {
				return fmt.Errorf("watch canceled: %s", wr.CancelReason)
			}
			if wr.Header.Revision < e.rev.Load() {
				return errRevisionWentBack
			}
			if len(wr.Events) == 0 {
				continue // progress notification: nothing changed
			}
			e.applyEvents(wr.Header.Revision, wr.Events)
		}
	}
}

func (e *EtcdSource) applyEvents(rev int64, events []*clientv3.Event) {
	start := time.Now()
	changes := make([]Change, 0, len(events))
	for _, ev := range events {
		if c, ok := e.change(ev.Kv, ev.Type == mvccpb.DELETE); ok {
			changes = append(changes, c)
		}
	}
	if len(changes) == 0 {
		e.rev.Store(rev)
		return
	}
	snap, problems := e.Builder.Apply(rev, changes, false)
	e.logProblems(problems)
	e.publish(snap, rev)
	e.logger().Debug("configuration changed", "revision", rev, "changes", len(changes), "took", time.Since(start))
}

func (e *EtcdSource) publish(snap *Snapshot, rev int64) {
	e.Store.Publish(snap)
	e.rev.Store(rev)
	if e.Events.Published != nil {
		e.Events.Published(snap)
	}
}

func (e *EtcdSource) logProblems(problems []error) {
	for _, err := range problems {
		e.logger().Error("config problem", "err", err)
		if e.Events.Problem != nil {
			e.Events.Problem(err)
		}
	}
}

// change turns one etcd key into a Change, or reports that the key is not
// an object sluice reads: init_dir placeholders (keys ending in "/"),
// directories sluice has no use for (stream_routes, protos, secrets,
// /plugins, gen_id, data_plane/...).
func (e *EtcdSource) change(kv *mvccpb.KeyValue, deleted bool) (Change, bool) {
	key := string(kv.Key)
	rest, ok := strings.CutPrefix(key, e.prefix()+"/")
	if !ok {
		return Change{}, false
	}
	kind, id, ok := KeyOf(rest)
	if !ok {
		return Change{}, false
	}
	c := Change{Kind: kind, ID: id}
	if !deleted {
		c.Item = &Item{Key: key, Value: kv.Value, CreateRev: kv.CreateRevision, ModRev: kv.ModRevision}
	}
	return c, true
}

// KeyOf maps a key below the prefix ("routes/1",
// "consumers/jack/credentials/c1") to its kind and id. It reports false for
// placeholders and for directories sluice does not read.
func KeyOf(rest string) (*config.Kind, string, bool) {
	dir, id, ok := strings.Cut(rest, "/")
	if !ok || id == "" || strings.HasSuffix(id, "/") {
		return nil, "", false
	}
	kind := config.KindByName(dir)
	if kind == nil || kind == config.Credentials {
		return nil, "", false
	}
	if kind == config.Consumers {
		if user, cred, found := strings.Cut(id, "/credentials/"); found {
			if strings.Contains(cred, "/") || user == "" || cred == "" {
				return nil, "", false
			}
			return config.Credentials, user + "/" + cred, true
		}
	}
	if strings.Contains(id, "/") {
		return nil, "", false
	}
	return kind, id, true
}

func (e *EtcdSource) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}
