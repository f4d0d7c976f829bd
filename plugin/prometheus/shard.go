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

// statusKey is apisix_http_status's label set (request_type and the llm
// labels are constant for HTTP traffic and not kept). The strings are the
// snapshot's own (route ids, names, node hosts): comparing and hashing them
// does not allocate, and keeping them costs nothing new.
type statusKey struct {
	code        uint16
	source      uint8
	noType      bool // request_type disabled by plugin_metadata
	route       string
	matchedURI  string
	matchedHost string
	service     string
	consumer    string
	node        string
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
	kind     trafficKind
	noType   bool // request_type disabled by plugin_metadata
	route    string
	service  string
	consumer string
	node     string
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
	status  map[statusKey]*statusSeries
	traffic map[trafficKey]*trafficSeries
	// The series the loop has created, in order; the published lists are
	// prefixes of these.
	statusOwn  []*statusSeries
	trafficOwn []*trafficSeries

	statusPub  atomic.Pointer[[]*statusSeries]
	trafficPub atomic.Pointer[[]*trafficSeries]

	requests atomic.Uint64 // every request the engine logged (apisix_http_requests_total)
}

// shards lists every loop's shard for the collector. It outlives config
// versions and plugin instances (STYLE rule 18): the counters are the
// process's, as nginx's shared dict is.
var shards struct {
	mu   stdsync.Mutex // guards list; taken when a loop makes its shard and by scrapes
	list []*shard
}

// shardKey makes a loop's shard the first time the loop counts.
var shardKey = reqctx.NewLocalKey(func() any {
	s := &shard{status: map[statusKey]*statusSeries{}, traffic: map[trafficKey]*trafficSeries{}}
	shards.mu.Lock()
	shards.list = append(shards.list, s)
	shards.mu.Unlock()
	return s
})

func shardOf(l *reqctx.Loop) *shard { return l.Local(shardKey).(*shard) }

// statusOf returns the series for k, creating and publishing it the first
// time. Loop-only.
func (s *shard) statusOf(k *statusKey) *statusSeries {
	if ser := s.status[*k]; ser != nil {
		return ser
	}
	ser := &statusSeries{key: *k}
	s.status[*k] = ser
	s.statusOwn = append(s.statusOwn, ser)
	pub := s.statusOwn
	s.statusPub.Store(&pub)
	return ser
}

// trafficOf is statusOf for traffic series.
func (s *shard) trafficOf(k *trafficKey) *trafficSeries {
	if ser := s.traffic[*k]; ser != nil {
		return ser
	}
	ser := &trafficSeries{key: *k}
	s.traffic[*k] = ser
	s.trafficOwn = append(s.trafficOwn, ser)
	pub := s.trafficOwn
	s.trafficPub.Store(&pub)
	return ser
}

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
