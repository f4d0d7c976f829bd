package prometheus

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of the exporter, APISIX's (apisix/cli/config.lua plugin_attr).
const (
	DefaultPrefix      = "apisix_"
	DefaultExportURI   = "/apisix/prometheus/metrics"
	DefaultExportAddr  = "127.0.0.1:9091"
	DefaultEtcdTimeout = 2 * time.Second
)

// requestType is APISIX's $request_type for HTTP traffic.
const requestType = "traditional_http"

// Options configures the collector. Zero fields take defaults; the funcs
// report what the node knows and are called at scrape time, from the
// scraping goroutine.
type Options struct {
	// Prefix is plugin_attr.prometheus.metric_prefix (default "apisix_").
	Prefix string
	// Hostname and Version label apisix_node_info.
	Hostname, Version string
	// Connections returns the open client connections
	// (apisix_nginx_http_current_connections{state="active"}); nil leaves
	// the metric out.
	Connections func() int64
	// Etcd checks the config etcd and returns its current revision
	// (apisix_etcd_reachable, apisix_etcd_modify_indexes{key="x_etcd_index"});
	// nil when the node does not read etcd (no etcd metrics, as APISIX).
	Etcd func(ctx context.Context) (revision int64, err error)
	// EtcdTimeout bounds Etcd (default 2 s).
	EtcdTimeout time.Duration
	// ModifyIndexes returns the highest modifiedIndex per kind of object
	// the node holds ("routes", "services", ...); nil leaves them out.
	ModifyIndexes func() map[string]int64
	// Logger receives scrape problems (etcd unreachable); nil discards.
	Logger *slog.Logger
}

// Collector is a prometheus.Collector that adds up every loop's shard at
// scrape time and reports the node's gauges. Safe from any goroutine.
type Collector struct {
	o Options

	status, latency, bandwidth                 *prometheus.Desc
	requests, connections                      *prometheus.Desc
	etcdReachable, nodeInfo, etcdModifyIndexes *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector with APISIX's metric names, help texts
// and labels (exporter.lua http_init).
func NewCollector(o Options) *Collector {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.EtcdTimeout <= 0 {
		o.EtcdTimeout = DefaultEtcdTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := o.Prefix
	return &Collector{
		o: o,
		status: prometheus.NewDesc(p+"http_status", "HTTP status codes per service in APISIX",
			metricLabels[0].labels, nil),
		latency: prometheus.NewDesc(p+"http_latency", "HTTP request latency in milliseconds per service in APISIX",
			metricLabels[1].labels, nil),
		bandwidth: prometheus.NewDesc(p+"bandwidth", "Total bandwidth in bytes consumed per service in APISIX",
			metricLabels[2].labels, nil),
		requests: prometheus.NewDesc(p+"http_requests_total", "The total number of client requests since APISIX started",
			nil, nil),
		connections: prometheus.NewDesc(p+"nginx_http_current_connections", "Number of HTTP connections",
			[]string{"state"}, nil),
		etcdReachable: prometheus.NewDesc(p+"etcd_reachable", "Config server etcd reachable from APISIX, 0 is unreachable",
			nil, nil),
		nodeInfo: prometheus.NewDesc(p+"node_info", "Info of APISIX node",
			[]string{"hostname", "version"}, nil),
		etcdModifyIndexes: prometheus.NewDesc(p+"etcd_modify_indexes", "Etcd modify index for APISIX keys",
			[]string{"key"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.status, c.latency, c.bandwidth, c.requests, c.connections,
		c.etcdReachable, c.nodeInfo, c.etcdModifyIndexes} {
		ch <- d
	}
}

// latencyAgg is one histogram summed over the loops.
type latencyAgg struct {
	counts [len(Buckets) + 1]uint64
	sum    float64
}

type trafficAgg struct {
	latency         [numLatencies]latencyAgg
	ingress, egress uint64
}

// Collect implements prometheus.Collector: it reads every loop's shard
// (atomic loads; the loops go on counting meanwhile) and sends the sums.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	status := map[statusKey]uint64{}
	traffic := map[trafficKey]*trafficAgg{}
	var requests uint64
	for _, sh := range snapshotShards() {
		requests += sh.requests.Load()
		for _, s := range sh.status.published() {
			status[s.key] += s.n.Load()
		}
		for _, s := range sh.traffic.published() {
			a := traffic[s.key]
			if a == nil {
				a = &trafficAgg{}
				traffic[s.key] = a
			}
			for i := range s.latency {
				h, ah := &s.latency[i], &a.latency[i]
				for b := range h.counts {
					ah.counts[b] += h.counts[b].Load()
				}
				ah.sum += math.Float64frombits(h.sum.Load())
			}
			a.ingress += s.ingress.Load()
			a.egress += s.egress.Load()
		}
	}
	for k, n := range status {
		c.send(ch, c.status, prometheus.CounterValue, float64(n), strconv.Itoa(int(k.code)), k.route,
			k.matchedURI, k.matchedHost, k.service, k.consumer, k.node, reqType(k.noType), "", "", sourceNames[k.source])
	}
	for k, a := range traffic {
		rt := reqType(k.noType)
		if k.kind != trafficBandwidth {
			for i := range a.latency {
				c.sendHistogram(ch, &a.latency[i], latencyNames[i], k, rt)
			}
		}
		if k.kind != trafficLatency {
			c.send(ch, c.bandwidth, prometheus.CounterValue, float64(a.ingress), "ingress", k.route, k.service, k.consumer, k.node, rt, "", "")
			c.send(ch, c.bandwidth, prometheus.CounterValue, float64(a.egress), "egress", k.route, k.service, k.consumer, k.node, rt, "", "")
		}
	}
	c.send(ch, c.requests, prometheus.GaugeValue, float64(requests))
	if c.o.Connections != nil {
		c.send(ch, c.connections, prometheus.GaugeValue, float64(c.o.Connections()), "active")
	}
	c.collectEtcd(ch)
	c.send(ch, c.nodeInfo, prometheus.GaugeValue, 1, c.o.Hostname, c.o.Version)
}

func (c *Collector) sendHistogram(ch chan<- prometheus.Metric, h *latencyAgg, typ string, k trafficKey, rt string) {
	var count uint64
	buckets := make(map[float64]uint64, len(Buckets))
	for i, le := range Buckets {
		count += h.counts[i]
		buckets[le] = count
	}
	count += h.counts[len(Buckets)]
	if count == 0 {
		return // never observed (no upstream on these requests): APISIX has no such series either
	}
	m, err := prometheus.NewConstHistogram(c.latency, count, h.sum, buckets, typ, k.route, k.service, k.consumer, k.node, rt, "", "")
	if err != nil {
		m = prometheus.NewInvalidMetric(c.latency, err)
	}
	ch <- m
}

func (c *Collector) send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

// collectEtcd reports whether etcd answers and the modify indexes, as
// APISIX's collect() does for an etcd config.
func (c *Collector) collectEtcd(ch chan<- prometheus.Metric) {
	if c.o.ModifyIndexes != nil {
		idx := c.o.ModifyIndexes()
		var maxIdx int64
		for _, k := range slices.Sorted(maps.Keys(idx)) {
			c.send(ch, c.etcdModifyIndexes, prometheus.GaugeValue, float64(idx[k]), k)
			maxIdx = max(maxIdx, idx[k])
		}
		if _, ok := idx["max_modify_index"]; !ok {
			c.send(ch, c.etcdModifyIndexes, prometheus.GaugeValue, float64(maxIdx), "max_modify_index")
		}
	}
	if c.o.Etcd == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.o.EtcdTimeout)
	defer cancel()
	rev, err := c.o.Etcd(ctx)
	if err != nil {
		c.o.Logger.Error("prometheus: failed to reach config server while processing metrics endpoint", "err", err)
		c.send(ch, c.etcdReachable, prometheus.GaugeValue, 0)
		return
	}
	c.send(ch, c.etcdReachable, prometheus.GaugeValue, 1)
	c.send(ch, c.etcdModifyIndexes, prometheus.GaugeValue, float64(rev), "x_etcd_index")
}

func reqType(blank bool) string {
	if blank {
		return ""
	}
	return requestType
}

// Handler serves the collector's metrics in the Prometheus exposition
// formats (client_golang's promhttp), on every path: the caller routes.
func Handler(c *Collector, lg *slog.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("prometheus: registering the collector: %w", err)
	}
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}
	if lg != nil {
		opts.ErrorLog = slog.NewLogLogger(lg.Handler(), slog.LevelWarn)
	}
	return promhttp.HandlerFor(reg, opts), nil
}
