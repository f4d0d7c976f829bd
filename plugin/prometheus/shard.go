package prometheus

import (
	"math"
	stdsync "sync"
	"sync/atomic"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// Buckets are APISIX's latency buckets (DEFAULT_BUCKETS), in milliseconds.
var Buckets = [...]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000}

// Response sources (apisix_http_status's response_source label).
const (
	srcAPISIX   uint8 = iota // the gateway answered (no route, plugin exit, no node)
	srcNginx                 // proxied, but no upstream response (refused, timed out)
	srcUpstream              // the upstream's response
	srcBlank                 // disabled by plugin_metadata
	numSources
)

var sourceNames = [numSources]string{"apisix", "nginx", "upstream", ""}

// seriesLabels are the string labels every family has (request_type is a
// key's noType; the llm labels are constant for HTTP traffic and not kept). The strings are the snapshot's own (route
// ids, names, node hosts): comparing and hashing them does not allocate,
// and keeping them costs nothing new.
type seriesLabels struct {
	route    string
	service  string
	consumer string
	node     string
}

// statusKey is apisix_http_status's label set.
type statusKey struct {
	code        uint16
	source      uint8
	noType      bool // request_type disabled by plugin_metadata
	matchedURI  string
	matchedHost string
	seriesLabels
}

// trafficKind says which families a traffic series feeds: both, unless
// plugin_metadata disabled different labels for them.
type trafficKind uint8

const (
	trafficBoth trafficKind = iota
	trafficLatency
	trafficBandwidth
)

// trafficKey is apisix_http_latency's and apisix_bandwidth's label set
// (without type, which picks a histogram or counter within the series).
type trafficKey struct {
	kind   trafficKind
	noType bool // request_type disabled by plugin_metadata
	seriesLabels
}

// Latency types: apisix_http_latency's type label.
const (
	latRequest = iota
	latUpstream
	latAPISIX
	numLatencies
)

var latencyNames = [numLatencies]string{"request", "upstream", "apisix"}

// histogram is one latency series. Written by its loop only (atomic
// stores, so the scraper may read it any time); bucket counts are not
// cumulative (the collector adds them up).
type histogram struct {
	counts [len(Buckets) + 1]atomic.Uint64 // the last is +Inf
	sum    atomic.Uint64                   // float64 bits, milliseconds
}

func (h *histogram) observe(ms float64) {
	i := 0
	for i < len(Buckets) && ms > Buckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Store(math.Float64bits(math.Float64frombits(h.sum.Load()) + ms))
}

type statusSeries struct {
	key statusKey
	n   atomic.Uint64
}

type trafficSeries struct {
	key     trafficKey
	latency [numLatencies]histogram
	ingress atomic.Uint64 // request bytes
	egress  atomic.Uint64 // response bytes
}

// shard is one event loop's counters. The loop owns it: it looks series up
// in its own maps (no lock) and adds with atomic operations on memory no
// other loop writes. A scraper reads the published lists, which the loop
// replaces (never changes in place) when it adds a series.
type shard struct {
	status  seriesSet[statusKey, statusSeries]
	traffic seriesSet[trafficKey, trafficSeries]

	requests atomic.Uint64 // every request the engine logged (apisix_http_requests_total)
}

// seriesSet is one family's series on one loop.
type seriesSet[K comparable, S any] struct {
	byKey map[K]*S
	// own is the series the loop has created, in order; the published
	// list is a prefix of it.
	own []*S
	pub atomic.Pointer[[]*S]
}

// of returns the series for k, creating it with newSeries and publishing
// it the first time. Loop-only.
func (ss *seriesSet[K, S]) of(k *K, newSeries func(K) *S) *S {
	if ser := ss.byKey[*k]; ser != nil {
		return ser
	}
	ser := newSeries(*k)
	ss.byKey[*k] = ser
	ss.own = append(ss.own, ser)
	pub := ss.own
	ss.pub.Store(&pub)
	return ser
}

// published returns the series a scrape may read. Safe from any goroutine.
func (ss *seriesSet[K, S]) published() []*S {
	if list := ss.pub.Load(); list != nil {
		return *list
	}
	return nil
}

func newStatusSeries(k statusKey) *statusSeries    { return &statusSeries{key: k} }
func newTrafficSeries(k trafficKey) *trafficSeries { return &trafficSeries{key: k} }

// shards lists every loop's shard for the collector. It outlives config
// versions and plugin instances (STYLE rule 18): the counters are the
// process's, as nginx's shared dict is.
var shards struct {
	mu   stdsync.Mutex // guards list; taken when a loop makes its shard and by scrapes
	list []*shard
}

// shardKey makes a loop's shard the first time the loop counts.
var shardKey = reqctx.NewLocalKey(func() any {
	s := &shard{}
	s.status.byKey = map[statusKey]*statusSeries{}
	s.traffic.byKey = map[trafficKey]*trafficSeries{}
	shards.mu.Lock()
	shards.list = append(shards.list, s)
	shards.mu.Unlock()
	return s
})

func shardOf(l *reqctx.Loop) *shard { return l.Local(shardKey).(*shard) }

// snapshotShards returns the shards that exist now. Safe from any goroutine.
func snapshotShards() []*shard {
	shards.mu.Lock()
	defer shards.mu.Unlock()
	return append([]*shard(nil), shards.list...)
}

// CountRequest counts one finished request for apisix_http_requests_total
// (nginx's request count: every request, whatever its route's plugins).
// The engine's request log calls it on the request's loop; it allocates
// nothing once the loop's shard exists.
func CountRequest(c *reqctx.Ctx) {
	shardOf(c.Loop).requests.Add(1)
}
