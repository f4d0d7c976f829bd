package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/sluicegw/sluice/accesslog"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/engine"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/localconf"
	"github.com/sluicegw/sluice/plugin"
	"github.com/sluicegw/sluice/plugin/prometheus"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// requestLog is what the engine hands every finished request to: the
// access log, and prometheus's request count (nginx's total requests,
// which counts every request, not only those the plugin runs on).
type requestLog struct {
	access *accesslog.Logger // nil when the access log is off
	count  bool              // prometheus is enabled
}

var _ engine.AccessLogger = (*requestLog)(nil)

// Log implements engine.AccessLogger.
func (r *requestLog) Log(c *reqctx.Ctx) {
	if r.count {
		prometheus.CountRequest(c)
	}
	if r.access != nil {
		r.access.Log(c)
	}
}

// newRequestLog opens the access log config.yaml asks for and returns the
// engine's request log (nil when there is nothing to do per request).
func newRequestLog(local *localconf.Config, plugins *plugin.Registry, loops int, lg *slog.Logger, cleanup *stack) (*requestLog, *accesslog.Logger, error) {
	r := &requestLog{count: plugins.Enabled(prometheus.Name)}
	if path := local.AccessLogPath(); path != "" && local.ServesTraffic() {
		h := &local.NginxConfig.HTTP
		esc, err := accesslog.ParseEscape(h.AccessLogFormatEscape)
		if err != nil {
			return nil, nil, err
		}
		alg := lg.With("component", "accesslog")
		l, err := accesslog.New(accesslog.Options{
			Path:          path,
			Format:        h.AccessLogFormat,
			Escape:        esc,
			Loops:         loops,
			BufferSize:    int(h.AccessLogBuffer),
			FlushInterval: local.Sluice.AccessLogFlush.Duration(),
			Logger:        alg,
		})
		if err != nil {
			return nil, nil, err
		}
		cleanup.push(func() {
			if err := l.Close(); err != nil {
				alg.Error("closing the access log", "err", err)
			}
		})
		r.access = l
	}
	if r.access == nil && !r.count {
		return nil, nil, nil
	}
	return r, r.access, nil
}

// startExporter serves the prometheus metrics on plugin_attr.prometheus's
// export_addr, as APISIX's export server does (only when the plugin is
// enabled and enable_export_server is on): GET export_uri answers the
// metrics, anything else nginx's 404 page.
func startExporter(local *localconf.Config, plugins *plugin.Registry, proxy *engine.Server, src *source,
	store *cfgsync.Store, lg *slog.Logger, errs chan<- error, cleanup *stack) error {
	if !plugins.Enabled(prometheus.Name) {
		return nil
	}
	addr, err := local.PrometheusExportAddr()
	if err != nil || addr == "" {
		return err
	}
	attr := &local.PluginAttr.Prometheus
	host, _ := os.Hostname()
	o := prometheus.Options{
		Prefix:   attr.MetricPrefix,
		Hostname: host,
		Version:  version,
		Logger:   lg.With("component", "prometheus"),
		ModifyIndexes: func() map[string]int64 {
			return modifyIndexes(store.Load())
		},
	}
	if proxy != nil {
		o.Connections = proxy.Stats().ClientsOpen.Load
	}
	if src.etcd != nil {
		cli, key := src.etcd.Client, src.prefix+"/phantomkey"
		o.Etcd = func(ctx context.Context) (int64, error) {
			resp, err := cli.Get(ctx, key)
			if err != nil {
				return 0, fmt.Errorf("prometheus: reading etcd: %w", err)
			}
			return resp.Header.Revision, nil
		}
	}
	metrics, err := prometheus.Handler(prometheus.NewCollector(o), o.Logger)
	if err != nil {
		return err
	}
	uri := attr.ExportURI
	if uri == "" {
		uri = prometheus.DefaultExportURI
	}
	return serveHTTP("prometheus export", addr, &exportServer{uri: uri, metrics: metrics}, lg, errs, cleanup)
}

// exportServer routes the export server's requests.
type exportServer struct {
	uri     string
	metrics http.Handler
}

func (e *exportServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == e.uri && r.Method == http.MethodGet {
		e.metrics.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", string(http1.HTMLContentType))
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(http1.ErrorPage(http.StatusNotFound)) // the client's loss if it fails
}

// modifyIndexes returns the highest modifiedIndex of the kinds a snapshot
// lists (apisix_etcd_modify_indexes).
func modifyIndexes(snap *cfgsync.Snapshot) map[string]int64 {
	out := map[string]int64{}
	if snap == nil {
		return out
	}
	for _, k := range []*config.Kind{config.Routes, config.Services, config.Upstreams} {
		var m int64
		for _, it := range snap.Items(k) {
			m = max(m, it.ModRev)
		}
		out[k.Name] = m
	}
	return out
}

// reopenOnSignal reopens the access log when sig arrives (log rotation).
func reopenOnSignal(l *accesslog.Logger, sig <-chan os.Signal, lg *slog.Logger) {
	for range sig {
		if err := l.Reopen(); err != nil {
			lg.Error("reopening the access log", "err", err)
			continue
		}
		lg.Info("access log reopened")
	}
}
