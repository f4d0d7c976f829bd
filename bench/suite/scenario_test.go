package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The stock scenarios parse, expand and carry what the issue asks for.
func TestStockScenarios(t *testing.T) {
	// Script paths are relative to the repository root, where the suite runs.
	t.Chdir("../..")
	all, err := LoadScenarios(defaultScenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Scenario{}
	for _, s := range all {
		byName[s.Name] = s
	}
	for _, name := range []string{"no-plugin", "limit-count-prometheus", "limit-count-redis", "key-auth-chain", "lua-hook", "routes-100k",
		"routes-100k-random", "response-1mib", "conns-5000", "conn-sweep-c64", "conn-sweep-c256", "conn-sweep-c1000", "conn-sweep-c4000"} {
		if byName[name] == nil {
			t.Errorf("stock scenario %s missing", name)
		}
	}
	if s := byName["conn-sweep-c4000"]; s != nil && (s.Group != "conn-sweep" || s.Connections != 4000) {
		t.Errorf("sweep point: group %q, %d connections", s.Group, s.Connections)
	}
	if s := byName["conns-5000"]; s != nil && s.Connections != 5000 {
		t.Errorf("conns-5000 has %d connections", s.Connections)
	}
	if s := byName["routes-100k-random"]; s != nil {
		if s.Sluice.Routes != 100000 || s.Script == "" {
			t.Errorf("routes-100k-random: %d routes, script %q", s.Sluice.Routes, s.Script)
		}
	}
	for _, name := range []string{"limit-count-prometheus", "limit-count-redis", "key-auth-chain", "lua-hook"} {
		if s := byName[name]; s != nil && (!slices.Contains(s.Needs, "plugins") || !slices.Contains(s.Tags, "plugins")) {
			t.Errorf("%s is not tagged plugins or does not say it needs them", name)
		}
	}
	if s := byName["limit-count-redis"]; s != nil && (!slices.Equal(s.Services, []string{"redis"}) || !slices.Contains(s.Tags, "compare")) {
		t.Errorf("limit-count-redis: services %v, tags %v", s.Services, s.Tags)
	}
	// Defaults.
	if s := byName["no-plugin"]; s != nil {
		if s.Connections != 64 || s.Threads != 1 || time.Duration(s.Duration) != 10*time.Second || s.Reps != 5 ||
			!slices.Equal(s.Targets, []string{"direct", "nginx", "sluice"}) {
			t.Errorf("no-plugin defaults: %+v", s)
		}
	}
	// Sweeps sort by connection count.
	var sweep []int
	for _, s := range all {
		if s.Group == "conn-sweep" {
			sweep = append(sweep, s.Connections)
		}
	}
	if !slices.Equal(sweep, []int{64, 256, 1000, 4000}) {
		t.Errorf("sweep order %v", sweep)
	}
}

const minimalScenario = `name: x
path: /
sluice:
  apisix_yaml: |
    routes: [{id: a, uri: /, upstream_id: origin}]
    upstreams: [{id: origin, nodes: {"${ORIGIN}": 1}}]
`

// redisScenario uses the redis service's placeholders; it parses only
// with services: [redis].
const redisScenario = `name: x
path: /
sluice:
  apisix_yaml: |
    routes:
      - id: a
        uri: /
        upstream_id: origin
        plugins:
          limit-count: {count: 9, time_window: 60, policy: redis, redis_host: "${REDIS_HOST}", redis_port: ${REDIS_PORT}}
    upstreams: [{id: origin, nodes: {"${ORIGIN}": 1}}]
`

func TestParseScenarioErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", minimalScenario + "conections: 5\n", `unknown field "conections"`},
		{"bad name", strings.Replace(minimalScenario, "name: x", "name: X Y", 1), `name "X Y"`},
		{"relative path", strings.Replace(minimalScenario, "path: /", "path: hello", 1), "must start with /"},
		{"too few connections", minimalScenario + "threads: 4\nconnections: 2\n", "at least threads"},
		{"short duration", minimalScenario + "duration: 500ms\n", "under 1s"},
		{"bad duration", minimalScenario + "duration: ten\n", `duration "ten"`},
		{"no sluice", minimalScenario + "targets: [direct, nginx]\n", "must include sluice"},
		{"unknown target", minimalScenario + "targets: [sluice, envoy]\n", `unknown target "envoy"`},
		{"missing script", minimalScenario + "script: nope.lua\n", `script "nope.lua" not found`},
		{"no config", "name: x\npath: /\n", "apisix_yaml is empty"},
		{"fillers without origin", strings.Replace(minimalScenario, "{id: origin", "{id: other", 1) + "  routes: 10\n", `upstream with id "origin"`},
		{"bad sweep", minimalScenario + "threads: 2\nsweep: [1]\n", "fewer than 2 threads"},
		{"unknown service", minimalScenario + "services: [memcached]\n", `unknown service "memcached"`},
		{"service twice", minimalScenario + "services: [redis, redis]\n", `service "redis" listed twice`},
		{"redis without the service", redisScenario, "${REDIS_HOST} is filled by no listed service"},
		{"misspelt placeholder", strings.Replace(redisScenario, "${REDIS_PORT}", "${REDIS_PROT}", 1) + "services: [redis]\n",
			"${REDIS_PROT} is filled by no listed service"},
		{"placeholder in config", minimalScenario + "  config: |\n    plugin_attr: {x: {port: ${REDIS_PORT}}}\n", "${REDIS_PORT} is filled by no listed service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tc.yaml), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseScenarioValues(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.lua"), []byte("-- script"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ParseScenario([]byte(minimalScenario+`duration: 3
warmup: -1s
reps: 7
script: s.lua
headers: {apikey: k}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(s.Duration) != 3*time.Second || s.Warmup != 0 || s.Reps != 7 || s.Headers["apikey"] != "k" {
		t.Errorf("parsed %+v", s)
	}
	if p, err := s.ScriptPath(); err != nil || p != filepath.Join(dir, "s.lua") {
		t.Errorf("script path %q, %v", p, err)
	}
}

func TestSelect(t *testing.T) {
	mk := func(name, group string, tags ...string) *Scenario {
		return &Scenario{Name: name, Group: group, Tags: tags}
	}
	all := []*Scenario{mk("no-plugin", "", "compare"), mk("routes-100k", "", "compare", "scale"),
		mk("routes-100k-random", "", "scale"), mk("sweep-c64", "sweep"), mk("sweep-c256", "sweep")}
	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{"", []string{"no-plugin", "routes-100k", "routes-100k-random", "sweep-c64", "sweep-c256"}},
		{"no-plugin", []string{"no-plugin"}},
		{"routes-*", []string{"routes-100k", "routes-100k-random"}},
		{"@scale", []string{"routes-100k", "routes-100k-random"}},
		{"@compare,sweep", []string{"no-plugin", "routes-100k", "sweep-c64", "sweep-c256"}},
	} {
		got, err := Select(all, tc.sel)
		if err != nil {
			t.Fatalf("%q: %v", tc.sel, err)
		}
		var names []string
		for _, s := range got {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("Select(%q) = %v, want %v", tc.sel, names, tc.want)
		}
	}
	if _, err := Select(all, "no-plugin,typo"); err == nil {
		t.Error("a term matching nothing was accepted")
	}
}

// services: [redis] makes the runner start redis-server and fill its
// address into apisix.yaml, where limit-count reads a host string and an
// integer port.
func TestScenarioServices(t *testing.T) {
	s, err := ParseScenario([]byte(redisScenario+"services: [redis]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Settings().Services, []string{"redis"}) {
		t.Errorf("settings services %v", s.Settings().Services)
	}
	if _, ok := neededTools(false, []*Scenario{s})["redis-server"]; !ok {
		t.Error("a redis scenario does not ask for redis-server")
	}
	if _, ok := neededTools(false, nil)["redis-server"]; ok {
		t.Error("redis-server wanted with no redis scenario")
	}
	data, err := apisixYAML(&s.Sluice, map[string]string{"ORIGIN": "127.0.0.1:18080", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "16379"})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Routes []struct {
			Plugins map[string]map[string]any `json:"plugins"`
		} `json:"routes"`
	}
	if err := yaml.Unmarshal(bytes.TrimSuffix(data, []byte("#END\n")), &m); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	lc := m.Routes[0].Plugins["limit-count"]
	if lc["redis_host"] != "127.0.0.1" || lc["redis_port"] != float64(16379) {
		t.Errorf("limit-count redis_host %#v, redis_port %#v", lc["redis_host"], lc["redis_port"])
	}
}

func TestExpandPlaceholders(t *testing.T) {
	vars := map[string]string{"ORIGIN": "127.0.0.1:1", "REDIS_PORT": "6379"}
	for in, want := range map[string]string{
		"${ORIGIN} ${REDIS_PORT}":   "127.0.0.1:1 6379",
		"${UNKNOWN} stays":          "${UNKNOWN} stays",
		"${{ENV}} is APISIX's own":  "${{ENV}} is APISIX's own",
		"$ORIGIN and ${origin} too": "$ORIGIN and ${origin} too",
	} {
		if got := expandPlaceholders(in, vars); got != want {
			t.Errorf("expandPlaceholders(%q) = %q, want %q", in, got, want)
		}
	}
	if got := placeholders("${A} ${B} ${A} ${{C}}"); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("placeholders = %v", got)
	}
}
