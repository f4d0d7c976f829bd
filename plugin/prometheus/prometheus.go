package prometheus

import (
	"time"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "prometheus"

// schema is APISIX's (apisix/plugins/prometheus.lua).
const schema = `{
  "type": "object",
  "properties": {
    "prefer_name": {"type": "boolean", "default": false}
  }
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:           Name,
		Priority:       500,
		Version:        "0.2",
		PreferRoute:    true,
		Schema:         schema,
		MetadataSchema: metadataSchema(),
		New:            newPrometheus,
		NewMetadata:    newMetadata,
	})
}

// prom is one compiled conf. Immutable; shared by every loop. The counters
// are not in it: they live in the loops' shards, so a recompiled conf
// counts on where the old one stopped.
type prom struct {
	preferName bool
}

var (
	_ plugin.HeaderFilterer = (*prom)(nil)
	_ plugin.Logger         = (*prom)(nil)
)

func newPrometheus(_ *plugin.Env, raw []byte) (any, error) {
	var conf struct {
		PreferName bool `json:"prefer_name"`
	}
	if err := plugin.Decode(raw, &conf); err != nil {
		return nil, err
	}
	return &prom{preferName: conf.PreferName}, nil
}

// fromUpstream marks a request whose response head came from its upstream
// (response_source "upstream").
var (
	fromUpstreamKey = reqctx.NewLocalKey(func() any { return nil })
	fromUpstream    = &struct{ byte }{}
)

// HeaderFilter notes where the response came from: only here is the
// upstream's head (Ctx.Resp) visible.
func (p *prom) HeaderFilter(c *reqctx.Ctx) {
	if c.Resp != nil {
		c.SetLocal(fromUpstreamKey, fromUpstream)
	}
}

var varUpstreamTime = expr.Var{Kind: expr.VarUpstreamResponseTime}

// Log counts the request: apisix_http_status, apisix_http_latency (request,
// upstream when an upstream was tried, apisix) and apisix_bandwidth, with
// APISIX's labels (exporter.lua http_log). It allocates nothing once the
// loop has seen the label set.
func (p *prom) Log(c *reqctx.Ctx) {
	sh := shardOf(c.Loop)
	var md *metadata
	if c.Config != nil {
		md, _ = c.Config.Metadata(Name).(*metadata)
	}
	route, service := c.RouteID, c.ServiceID
	if p.preferName {
		if c.RouteName != "" {
			route = c.RouteName
		}
		if service != "" && c.ServiceName != "" {
			service = c.ServiceName
		}
	}
	consumer := ""
	if c.Consumer != nil {
		consumer = c.Consumer.Name
	}
	l := seriesLabels{route: route, service: service, consumer: consumer, node: c.NodeHost}
	sk := statusKey{code: uint16(c.Status), source: responseSource(c), seriesLabels: l}
	sk.matchedURI, sk.matchedHost = c.Matched()
	tk := trafficKey{seriesLabels: l}
	if md != nil {
		md.status.applyStatus(&sk)
	}
	sh.status.of(&sk, newStatusSeries).n.Add(1)

	total := float64(time.Since(c.Start)) / float64(time.Millisecond)
	up, proxied := upstreamMillis(c)
	apisix := total
	if proxied {
		apisix = max(total-up, 0) // clocks differ (APISIX issue 5146)
	}
	lat, bw := sh.trafficFor(tk, md)
	lat.latency[latRequest].observe(total)
	if proxied {
		lat.latency[latUpstream].observe(up)
	}
	lat.latency[latAPISIX].observe(apisix)
	bw.ingress.Add(uint64(max(c.RequestLength, 0)))
	bw.egress.Add(uint64(max(c.BytesSent, 0)))
}

// traffic returns the series latency and bandwidth are counted in: one
// series for both unless plugin_metadata disables different labels for
// them.
func (s *shard) trafficFor(k trafficKey, md *metadata) (lat, bw *trafficSeries) {
	if md == nil || md.latency == md.bandwidth {
		if md != nil {
			k.noType = md.latency.apply(&k.seriesLabels)
		}
		t := s.traffic.of(&k, newTrafficSeries)
		return t, t
	}
	lk, bk := k, k
	lk.kind, bk.kind = trafficLatency, trafficBandwidth
	lk.noType = md.latency.apply(&lk.seriesLabels)
	bk.noType = md.bandwidth.apply(&bk.seriesLabels)
	return s.traffic.of(&lk, newTrafficSeries), s.traffic.of(&bk, newTrafficSeries)
}

// responseSource is core.response.get_response_source: the gateway's own
// answer, a proxy error without an upstream response, or the upstream's.
func responseSource(c *reqctx.Ctx) uint8 {
	if exited, _, _, _ := c.Exited(); exited || c.Attempts() == 0 {
		return srcAPISIX
	}
	if c.Local(fromUpstreamKey) != nil {
		return srcUpstream
	}
	return srcNginx
}

// upstreamMillis returns the time the upstream attempts took, from
// $upstream_response_time ("0.002" or, after retries, "0.001, 0.003": the
// attempts are added up), and whether there was any.
func upstreamMillis(c *reqctx.Ctx) (float64, bool) {
	v, ok := c.Value(&varUpstreamTime)
	if !ok {
		return 0, false
	}
	var total, cur, frac int64
	inFrac, digits := false, 0
	for _, b := range v {
		switch {
		case b >= '0' && b <= '9':
			if inFrac {
				if digits < 3 {
					frac = frac*10 + int64(b-'0')
					digits++
				}
			} else {
				cur = cur*10 + int64(b-'0')
			}
		case b == '.':
			inFrac = true
		case b == ',':
			total += millis(cur, frac, digits)
			cur, frac, inFrac, digits = 0, 0, false, 0
		}
	}
	total += millis(cur, frac, digits)
	return float64(total), true
}

func millis(sec, frac int64, digits int) int64 {
	for ; digits < 3; digits++ {
		frac *= 10
	}
	return sec*1000 + frac
}
