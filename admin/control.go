package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicegw/sluice/balancer/health"
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
	// Health serves /v1/healthcheck (nil: no checkers, as with
	// disable_upstream_healthcheck).
	Health *health.Manager
	// Reload is plugins reload (PUT /v1/plugins/reload); nil: nothing to
	// reload.
	Reload func(ctx context.Context) error
	// Revision is the etcd revision the served configuration reflects,
	// for GET /v1/sync (nil, as with apisix.yaml: the snapshot's version).
	Revision func() int64
}

// syncState is GET /v1/sync, a sluice addition: which configuration this
// node serves. After a write at etcd revision R, every node whose revision
// is >= R serves it (a deploy script or test waits on that, not a sleep).
type syncState struct {
	Revision int64 `json:"revision"`
	Routes   int   `json:"routes"`
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
	if r.URL.Path == "/v1/plugins/reload" {
		if r.Method != http.MethodPut {
			return http.StatusMethodNotAllowed, map[string]string{"error_msg": "please use PUT method to reload the plugins"}
		}
		if c.Reload != nil {
			if err := c.Reload(r.Context()); err != nil {
				return http.StatusBadRequest, map[string]string{"error_msg": err.Error()}
			}
		}
		return http.StatusOK, "done"
	}
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, map[string]string{"error_msg": "method not allowed"}
	}
	switch r.URL.Path {
	case "/status":
		return http.StatusOK, map[string]string{"status": "ok"}
	case "/v1/sync":
		snap := c.Store.Load()
		rev := snap.Version
		if c.Revision != nil {
			rev = c.Revision()
		}
		return http.StatusOK, syncState{Revision: rev, Routes: snap.Routes()}
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
	if name == "healthcheck" {
		return c.healthcheck(id, one)
	}
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

// healthcheck serves GET /v1/healthcheck and
// /v1/healthcheck/{routes|services|upstreams}/{id} as APISIX's
// apisix/control/v1.lua does, errors included.
func (c *Control) healthcheck(rest string, one bool) (int, any) {
	snap := c.Store.Load()
	if !one {
		all := c.Health.Status()
		if len(all) == 0 {
			return http.StatusOK, struct{}{} // APISIX encodes the empty Lua table as {}
		}
		for i := range all {
			all[i].Name = checkerName(snap, all[i].Owner)
		}
		return http.StatusOK, all
	}
	typ, id, _ := strings.Cut(rest, "/")
	switch typ {
	case "routes", "services", "upstreams", "stream_routes":
	default:
		return http.StatusBadRequest, map[string]string{"error_msg": "invalid src type " + typ}
	}
	if id == "" {
		return http.StatusNotFound, map[string]string{"error_msg": "missing src id for src type " + typ}
	}
	if kind := controlKinds[typ]; kind == nil || snap.Item(kind, id) == nil {
		return http.StatusNotFound, map[string]string{"error_msg": fmt.Sprintf("%s[%s] not found", typ, id)}
	}
	st, ok := c.Health.StatusOf(typ + "/" + id)
	if !ok {
		return http.StatusNotFound, map[string]string{"error_msg": fmt.Sprintf("no checker for %s[%s]", typ, id)}
	}
	st.Name = checkerName(snap, st.Owner)
	return http.StatusOK, st
}

// checkerName is APISIX's name for a checker: the key of the object that
// holds the upstream ("/apisix/upstreams/1"; "/routes/1" from a file).
func checkerName(snap *cfgsync.Snapshot, owner string) string {
	typ, id, _ := strings.Cut(owner, "/")
	if kind := controlKinds[typ]; kind != nil {
		if it := snap.Item(kind, id); it != nil {
			return "/" + strings.TrimPrefix(it.Key, "/")
		}
	}
	return "/" + owner
}
