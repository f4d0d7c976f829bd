package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// fillerUpstream is the upstream id generated filler routes point at; a
// scenario with sluice.routes must define it.
const fillerUpstream = "origin"

// writeSluiceConfig writes config.yaml and apisix.yaml for one sluice
// target of s (running spec: s.Sluice or one of its variants) into dir,
// listening on 127.0.0.1:port, with vars filling the placeholders (ORIGIN,
// the origin's host:port, and the services'). It returns the config.yaml
// path.
func writeSluiceConfig(s *Scenario, spec *SluiceSpec, dir string, port int, vars map[string]string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("suite: sluice config dir: %w", err)
	}
	local, err := sluiceLocalConfig(expandPlaceholders(spec.Config, vars), port)
	if err != nil {
		return "", err
	}
	confPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(confPath, local, 0o644); err != nil {
		return "", fmt.Errorf("suite: writing config.yaml: %w", err)
	}
	routes, err := apisixYAML(spec, vars)
	if err != nil {
		return "", fmt.Errorf("suite: scenario %q: %w", s.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apisix.yaml"), routes, 0o644); err != nil {
		return "", fmt.Errorf("suite: writing apisix.yaml: %w", err)
	}
	return confPath, nil
}

// sluiceLocalConfig is config.yaml: a standalone data plane reading
// apisix.yaml, one listener, no control API and no prometheus export
// server (several sluice targets run at once, a scenario's variants among
// them, and other work on the machine may hold their default ports) and no
// access log (the nginx baseline runs with access_log off), with extra
// merged over it.
func sluiceLocalConfig(extra string, port int) ([]byte, error) {
	base := map[string]any{
		"apisix": map[string]any{
			"node_listen":    []any{map[string]any{"ip": "127.0.0.1", "port": port}},
			"enable_control": false,
		},
		"deployment": map[string]any{
			"role":            "data_plane",
			"role_data_plane": map[string]any{"config_provider": "yaml"},
		},
		"nginx_config": map[string]any{"http": map[string]any{"enable_access_log": false}},
		"plugin_attr":  map[string]any{"prometheus": map[string]any{"enable_export_server": false}},
	}
	if extra != "" {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(extra), &m); err != nil {
			return nil, fmt.Errorf("suite: sluice.config: %w", err)
		}
		mergeMaps(base, m)
	}
	out, err := yaml.Marshal(base)
	if err != nil {
		return nil, fmt.Errorf("suite: encoding config.yaml: %w", err)
	}
	return out, nil
}

// mergeMaps merges src into dst: nested maps merge, anything else replaces.
func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeMaps(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// apisixYAML renders apisix.yaml: the scenario's objects with the
// placeholders filled in from vars, filler routes up to spec.Routes, and
// the #END line. With filler routes the file is written as JSON (valid
// YAML, and fast to produce for 100K routes).
func apisixYAML(spec *SluiceSpec, vars map[string]string) ([]byte, error) {
	text := expandPlaceholders(spec.APISIXYAML, vars)
	var m map[string]any
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		return nil, fmt.Errorf("apisix_yaml: %w", err)
	}
	routes, _ := m["routes"].([]any)
	if spec.Routes <= len(routes) {
		return []byte(strings.TrimRight(text, "\n") + "\n#END\n"), nil
	}
	if !hasUpstream(m, fillerUpstream) {
		return nil, fmt.Errorf("sluice.routes needs an upstream with id %q for the filler routes", fillerUpstream)
	}
	for i := 1; len(routes) < spec.Routes; i++ {
		routes = append(routes, fillerRoute(spec.Filler, i, vars[placeholderOrigin]))
	}
	m["routes"] = routes
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding apisix.yaml: %w", err)
	}
	return append(js, "\n#END\n"...), nil
}

// Filler route shapes (SluiceSpec.Filler).
const (
	fillerPrefix = "prefix"
	fillerMixed  = "mixed"
)

// fillerRoute is the i-th generated route; scripts/wrk/random-routes.lua
// asks for /svc<i%1000>/api/v1/res<i>/item, which every shape routes.
func fillerRoute(shape string, i int, origin string) map[string]any {
	base := fmt.Sprintf("/svc%d/api/v1/res%d", i%1000, i)
	r := map[string]any{"id": fmt.Sprintf("filler%d", i), "uri": base + "/*", "upstream_id": fillerUpstream}
	if shape != fillerMixed {
		return r
	}
	switch i % 4 {
	case 0:
		r["uri"] = base + "/item"
	case 2:
		r["methods"] = []string{"GET", "POST"}
	case 3:
		r["uri"] = base + "/item"
		r["hosts"] = []string{"127.0.0.1"}
		delete(r, "upstream_id")
		r["upstream"] = map[string]any{"type": "roundrobin", "nodes": map[string]any{origin: 1}}
	}
	return r
}

func hasUpstream(m map[string]any, id string) bool {
	ups, _ := m["upstreams"].([]any)
	for _, u := range ups {
		if um, ok := u.(map[string]any); ok && fmt.Sprint(um["id"]) == id {
			return true
		}
	}
	return false
}
