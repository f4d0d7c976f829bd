package admin

import (
	"net/http"

	"github.com/sluicegw/sluice/config"
)

// plugins answers /apisix/admin/plugins/...: the enabled plugin list, one
// plugin's schema, and hot reload.
func (s *Server) plugins(req *request) (int, any, error) {
	sub := ""
	if len(req.segs) > 1 {
		sub = req.segs[1]
	}
	switch {
	case sub == "reload":
		if req.Method != http.MethodPut {
			return 0, nil, apiErr(http.StatusMethodNotAllowed, "please use PUT method to reload the plugins, %s method is not allowed.", req.Method)
		}
		// APISIX would also write its plugin list to <prefix>/plugins;
		// sluice leaves that key to whichever APISIX control plane shares
		// the etcd, rather than overwrite its list.
		if s.o.Reload != nil {
			if err := s.o.Reload(req.Context()); err != nil {
				return 0, nil, apiErr(http.StatusBadRequest, "%s", err.Error())
			}
		}
		return http.StatusOK, rawBody(`"done"`), nil
	case req.Method != http.MethodGet:
		return 0, nil, apiErr(http.StatusNotFound, "not found")
	case sub == "list" || sub == "":
		switch req.URL.Query().Get("subsystem") {
		case "", "http":
		case "stream":
			return http.StatusOK, []string{}, nil
		default:
			return 0, nil, apiErr(http.StatusBadRequest, "unsupported subsystem: %s", req.URL.Query().Get("subsystem"))
		}
		names := []string{}
		if s.o.Plugins != nil {
			names = s.o.Plugins.List()
		}
		if sub == "" {
			all := map[string]any{} // ?all=true: every plugin's attributes
			for _, n := range names {
				all[n] = map[string]any{}
			}
			return http.StatusOK, all, nil
		}
		return http.StatusOK, names, nil
	}
	if s.o.Plugins != nil {
		if sch, ok := s.o.Plugins.Schema(sub, req.URL.Query().Get("schema_type")); ok {
			return http.StatusOK, sch, nil
		}
	}
	return 0, nil, apiErr(http.StatusNotFound, "plugin not found in subsystem http")
}

// schema answers /apisix/admin/schema/<resource> (the core schemas),
// /schema/plugins/<name> and POST /schema/validate/<resource>.
func (s *Server) schema(req *request) (int, any, error) {
	if len(req.segs) < 2 {
		return 0, nil, apiErr(http.StatusBadRequest, "not found schema: ")
	}
	switch req.segs[1] {
	case "plugins":
		name := ""
		if len(req.segs) > 2 {
			name = req.segs[2]
		}
		if s.o.Plugins != nil {
			if sch, ok := s.o.Plugins.Schema(name, req.URL.Query().Get("schema_type")); ok {
				return http.StatusOK, sch, nil
			}
		}
		return 0, nil, apiErr(http.StatusBadRequest, "not found schema: %s", name)
	case "validate":
		if req.Method != http.MethodPost || len(req.segs) < 3 {
			return 0, nil, apiErr(http.StatusNotFound, "not found")
		}
		kind := config.KindByName(req.segs[2])
		if kind == nil {
			return 0, nil, apiErr(http.StatusBadRequest, "not found schema: %s", req.segs[2])
		}
		conf, err := objectBody(req)
		if err != nil {
			return 0, nil, err
		}
		id := "validate" // objects need an id; the body's, if it has one
		if v, ok := conf["id"]; ok {
			id = idString(v)
		}
		if _, err := kind.Decode(id, req.rawBody); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, nil, nil
	}
	if req.Method != http.MethodGet {
		return 0, nil, apiErr(http.StatusNotFound, "not found")
	}
	sch, ok := config.CoreSchemas[req.segs[1]]
	if !ok {
		return 0, nil, apiErr(http.StatusBadRequest, "not found schema: %s", req.segs[1])
	}
	return http.StatusOK, sch, nil
}
