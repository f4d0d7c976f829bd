package admin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/sluicegw/sluice/config"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// Control is the control API (APISIX's 127.0.0.1:9090): this node's running
// configuration, and its health.
type Control struct {
	Store *cfgsync.Store
	// Ready reports whether the first full configuration load is applied
	// (nil: always ready).
	Ready func() bool
}

// controlKinds maps the control API's plural and singular paths to kinds.
var controlKinds = map[string]*config.Kind{
	"routes": config.Routes, "route": config.Routes,
	"services": config.Services, "service": config.Services,
	"upstreams": config.Upstreams, "upstream": config.Upstreams,
}

// ServeHTTP implements http.Handler.
func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, body := c.serve(r)
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (c *Control) serve(r *http.Request) (int, any) {
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, map[string]string{"error_msg": "method not allowed"}
	}
	switch r.URL.Path {
	case "/status":
		return http.StatusOK, map[string]string{"status": "ok"}
	case "/status/ready":
		if c.Ready != nil && !c.Ready() {
			return http.StatusServiceUnavailable, map[string]string{"status": "error", "error": "configuration not loaded yet"}
		}
		return http.StatusOK, map[string]string{"status": "ok"}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		return http.StatusNotFound, map[string]string{"error_msg": "not found"}
	}
	name, id, one := strings.Cut(rest, "/")
	kind := controlKinds[name]
	if kind == nil || one != (name == kind.Noun) {
		return http.StatusNotFound, map[string]string{"error_msg": "not found"}
	}
	snap := c.Store.Load()
	if one {
		it := snap.Item(kind, id)
		if it == nil {
			return http.StatusNotFound, map[string]string{"error_msg": kind.Noun + " not found"}
		}
		return http.StatusOK, controlEntry(it)
	}
	items := snap.Items(kind)
	out := make([]entry, len(items))
	for i, it := range items {
		out[i] = controlEntry(it)
	}
	return http.StatusOK, out
}

func controlEntry(it *cfgsync.Item) entry {
	return entry{Key: it.Key, Value: it.Value, CreatedIndex: it.CreateRev, ModifiedIndex: it.ModRev}
}
