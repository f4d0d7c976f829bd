package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Scenario defaults: the setup of bench/compare.sh and ceiling.md, which the
// recorded numbers so far used.
const (
	DefaultConnections = 64
	DefaultThreads     = 1
	DefaultDuration    = 10 * time.Second
	DefaultWarmup      = 2 * time.Second
	DefaultReps        = 5
)

// DefaultTargets are measured when a scenario names none: the ceiling (no
// proxy), the reference proxy, and sluice.
var DefaultTargets = []string{targetDirect, targetNginx, targetSluice}

// Target names a scenario may list.
const (
	targetDirect  = "direct"  // wrk straight to the origin: the ceiling
	targetNginx   = "nginx"   // nginx proxy_pass with upstream keepalive
	targetHAProxy = "haproxy" // haproxy, one thread
	targetSluice  = "sluice"  // the build under test
)

// Scenario is one benchmark: what sluice loads, what wrk sends, and which
// targets are measured. Scenario files are YAML (bench/scenarios/*.yaml);
// the fields are documented in bench/scenarios/README.md.
type Scenario struct {
	// Name identifies the scenario in history and tables: lower case,
	// digits and dashes.
	Name string `json:"name"`
	// Description says what the scenario measures, for tables and -list.
	Description string `json:"description,omitempty"`
	// Tags group scenarios for selection (-s @tag).
	Tags []string `json:"tags,omitempty"`
	// Needs lists what sluice must support to load the config ("plugins",
	// "lua"). It is informational: a sluice that refuses the config makes
	// the scenario "skipped: config refused", whatever Needs says.
	Needs []string `json:"needs,omitempty"`

	// Path is the request path wrk sends (a script may send others).
	Path string `json:"path"`
	// Headers are added to every request (wrk -H), to every target.
	Headers map[string]string `json:"headers,omitempty"`
	// Connections is wrk -c. Zero means DefaultConnections.
	Connections int `json:"connections,omitempty"`
	// Sweep, when set, runs the scenario once per connection count, as
	// scenarios named <name>-c<count> in the group <name>.
	Sweep []int `json:"sweep,omitempty"`
	// Threads is wrk -t. Zero means DefaultThreads.
	Threads int `json:"threads,omitempty"`
	// Duration is each timed wrk run; Warmup the untimed run before it.
	// Zero means the defaults; a negative Warmup means none.
	Duration Duration `json:"duration,omitempty"`
	Warmup   Duration `json:"warmup,omitempty"`
	// Timeout is wrk --timeout; zero leaves wrk's default (2 s).
	Timeout Duration `json:"timeout,omitempty"`
	// Reps is the number of timed runs per target. Zero means DefaultReps.
	Reps int `json:"reps,omitempty"`
	// Script is a wrk Lua script, relative to the repository root or to
	// the scenario file; ScriptArgs follow "--" on wrk's command line.
	Script     string   `json:"script,omitempty"`
	ScriptArgs []string `json:"script_args,omitempty"`
	// Targets to measure; DefaultTargets when empty. haproxy is optional
	// everywhere (run -haproxy adds it).
	Targets []string `json:"targets,omitempty"`
	// ResponseBytes, when set, makes the origin serve a file of that many
	// bytes at /bytes/<ResponseBytes> (the scenario's path should ask for it).
	ResponseBytes int `json:"response_bytes,omitempty"`
	// Services the runner starts for this scenario on the load CPU and
	// stops after it: "redis" (redis-server, no persistence), whose address
	// apisix_yaml and sluice.config read as ${REDIS_HOST} and ${REDIS_PORT}.
	Services []string `json:"services,omitempty"`

	// Sluice is what the sluice targets load.
	Sluice SluiceSpec `json:"sluice"`
	// Variants are other configurations every sluice build also runs
	// the scenario's traffic against, in the same rotation as the other
	// targets: one catch-all route, say, to price a 100K-route table. Each
	// is a target named <build>-<variant> (sluice-catchall). Like the
	// direct and nginx baselines, only run measures them, not compare.
	Variants map[string]SluiceSpec `json:"sluice_variants,omitempty"`

	// Group is the sweep a scenario was expanded from ("" otherwise).
	Group string `json:"-"`
	// dir is the directory of the file the scenario came from.
	dir string
}

// SluiceSpec is the configuration sluice runs a scenario with, in APISIX's
// formats. The runner writes a config.yaml (standalone data plane, yaml
// provider, the listen port, control API off) and an apisix.yaml beside it.
type SluiceSpec struct {
	// APISIXYAML is the apisix.yaml content without the #END line. The
	// text ${ORIGIN} is replaced by the origin's host:port, and each
	// service's placeholders (${REDIS_HOST}, ${REDIS_PORT}) by its address.
	APISIXYAML string `json:"apisix_yaml"`
	// Config is extra config.yaml content, merged over the runner's (for
	// example nginx_config or sluice keys), with the same placeholders.
	Config string `json:"config,omitempty"`
	// Routes, when larger than the routes APISIXYAML lists, adds filler
	// routes /svc<i%1000>/api/v1/res<i>/* (i = 1 … Routes-1, upstream_id
	// "origin") until the table holds Routes routes. scripts/wrk/
	// random-routes.lua asks for paths under these.
	Routes int `json:"routes,omitempty"`
	// Filler is the filler routes' shape: "prefix" (the default, above)
	// or "mixed", where the same request paths are reached, in turn, by an
	// exact route, a prefix route, a prefix route for GET and POST, and an
	// exact route for host 127.0.0.1 with its own (identical) inline
	// upstream (sluiceconf.go fillerRoute).
	Filler string `json:"filler,omitempty"`
}

// Duration is a time.Duration written as "10s" in scenario files.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return fmt.Errorf("suite: duration must be a string like \"10s\" or seconds: %w", err)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("suite: duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// ParseScenario decodes one scenario file's content (dir is where it lives,
// for relative script paths), fills defaults and validates it. Unknown
// fields are errors, so a typo does not silently change a benchmark.
func ParseScenario(data []byte, dir string) (*Scenario, error) {
	s := &Scenario{}
	if err := yaml.UnmarshalStrict(data, s); err != nil {
		return nil, fmt.Errorf("suite: decoding scenario: %w", err)
	}
	s.dir = dir
	s.withDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Scenario) withDefaults() {
	if s.Connections == 0 {
		s.Connections = DefaultConnections
	}
	if s.Threads == 0 {
		s.Threads = DefaultThreads
	}
	if s.Duration == 0 {
		s.Duration = Duration(DefaultDuration)
	}
	if s.Warmup == 0 {
		s.Warmup = Duration(DefaultWarmup)
	}
	if s.Warmup < 0 {
		s.Warmup = 0
	}
	if s.Reps == 0 {
		s.Reps = DefaultReps
	}
	if len(s.Targets) == 0 {
		s.Targets = slices.Clone(DefaultTargets)
	}
}

// Validate reports a scenario that cannot run.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !nameRE.MatchString(s.Name) {
		bad("name %q: lower case letters, digits and dashes", s.Name)
	}
	if !strings.HasPrefix(s.Path, "/") {
		bad("path %q must start with /", s.Path)
	}
	if s.Connections < s.Threads {
		bad("connections (%d) must be at least threads (%d)", s.Connections, s.Threads)
	}
	for _, c := range s.Sweep {
		if c < s.Threads {
			bad("sweep: %d connections is fewer than %d threads", c, s.Threads)
		}
	}
	if s.Duration < Duration(time.Second) {
		bad("duration %v is under 1s", time.Duration(s.Duration))
	}
	if s.Reps < 1 {
		bad("reps must be positive")
	}
	if s.ResponseBytes < 0 || s.ResponseBytes > 1<<30 {
		bad("response_bytes %d out of range (0 … 1 GiB)", s.ResponseBytes)
	}
	known := []string{placeholderOrigin}
	for i, svc := range s.Services {
		names, ok := servicePlaceholders[svc]
		if !ok {
			bad("unknown service %q (redis)", svc)
		}
		if slices.Contains(s.Services[:i], svc) {
			bad("service %q listed twice", svc)
		}
		known = append(known, names...)
	}
	for _, p := range placeholders(s.Sluice.APISIXYAML + "\n" + s.Sluice.Config) {
		if !slices.Contains(known, p) {
			bad("sluice: ${%s} is filled by no listed service (services: %v)", p, s.Services)
		}
	}
	seen := map[string]bool{}
	for _, t := range s.Targets {
		switch t {
		case targetDirect, targetNginx, targetHAProxy, targetSluice:
		default:
			bad("unknown target %q (direct, nginx, haproxy, sluice)", t)
		}
		if seen[t] {
			bad("target %q listed twice", t)
		}
		seen[t] = true
	}
	if !seen[targetSluice] {
		bad("targets must include sluice")
	}
	vars := exampleVars(s.Services)
	s.Sluice.validate("sluice", vars, bad)
	for _, v := range slices.Sorted(maps.Keys(s.Variants)) {
		if !nameRE.MatchString(v) {
			bad("sluice_variants: name %q: lower case letters, digits and dashes", v)
		}
		spec := s.Variants[v]
		spec.validate("sluice_variants."+v, vars, bad)
	}
	if s.Script != "" {
		if _, err := s.ScriptPath(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("suite: scenario %q: %w", s.Name, errors.Join(errs...))
	}
	return nil
}

// validate reports what makes spec unusable; where names it in messages,
// and vars (example addresses) fill its placeholders.
func (spec *SluiceSpec) validate(where string, vars map[string]string, bad func(format string, args ...any)) {
	if spec.Config != "" {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(expandPlaceholders(spec.Config, vars)), &m); err != nil {
			bad("%s.config: %w", where, err)
		}
	}
	if strings.TrimSpace(spec.APISIXYAML) == "" {
		bad("%s.apisix_yaml is empty", where)
	} else if m, err := spec.apisixObjects(vars); err != nil {
		bad("%s.apisix_yaml: %w", where, err)
	} else if spec.Routes > 0 && !hasUpstream(m, fillerUpstream) {
		bad("%s.routes needs an upstream with id %q in apisix_yaml for the filler routes", where, fillerUpstream)
	}
	switch spec.Filler {
	case "", fillerPrefix, fillerMixed:
	default:
		bad("%s.filler %q: prefix or mixed", where, spec.Filler)
	}
}

// ScriptPath finds Script: relative to the working directory (the
// repository root) first, then to the scenario file.
func (s *Scenario) ScriptPath() (string, error) {
	if filepath.IsAbs(s.Script) {
		return s.Script, nil
	}
	for _, p := range []string{s.Script, filepath.Join(s.dir, s.Script)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("suite: scenario %q: script %q not found (relative to the working directory or %s)", s.Name, s.Script, s.dir)
}

// apisixObjects decodes APISIXYAML with vars (example addresses) for the
// placeholders.
func (spec *SluiceSpec) apisixObjects(vars map[string]string) (map[string]any, error) {
	var m map[string]any
	text := expandPlaceholders(spec.APISIXYAML, vars)
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if m == nil {
		return nil, errors.New("no objects")
	}
	return m, nil
}

// Expand returns the scenarios a file stands for: itself, or one per
// connection count of its sweep.
func (s *Scenario) Expand() []*Scenario {
	if len(s.Sweep) == 0 {
		return []*Scenario{s}
	}
	out := make([]*Scenario, 0, len(s.Sweep))
	for _, c := range s.Sweep {
		cp := *s
		cp.Name = s.Name + "-c" + strconv.Itoa(c)
		cp.Group = s.Name
		cp.Connections = c
		cp.Sweep = nil
		out = append(out, &cp)
	}
	return out
}

// LoadScenarios reads every *.yaml file of dir and of the extra files, and
// returns the expanded scenarios sorted by name (names must be unique).
func LoadScenarios(dir string, files ...string) ([]*Scenario, error) {
	var paths []string
	if dir != "" {
		m, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("suite: listing %s: %w", dir, err)
		}
		paths = append(paths, m...)
	}
	paths = append(paths, files...)
	var out []*Scenario
	names := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("suite: reading scenario: %w", err)
		}
		s, err := ParseScenario(data, filepath.Dir(p))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, e := range s.Expand() {
			if prev, dup := names[e.Name]; dup {
				return nil, fmt.Errorf("suite: scenario %q defined in %s and %s", e.Name, prev, p)
			}
			names[e.Name] = p
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].sortKey() < out[j].sortKey() })
	return out, nil
}

// Select picks scenarios by a comma-separated list of names, shell globs
// (path.Match) and @tags; a sweep's group name selects all its points. An
// empty selector or "*" selects all. A term that matches nothing is an
// error, so a typo does not quietly run less.
func Select(all []*Scenario, selector string) ([]*Scenario, error) {
	if selector == "" {
		return all, nil
	}
	pick := map[*Scenario]bool{}
	for _, term := range strings.Split(selector, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		n := 0
		for _, s := range all {
			if s.matches(term) {
				pick[s] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("suite: no scenario matches %q", term)
		}
	}
	var out []*Scenario
	for _, s := range all {
		if pick[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// sortKey orders scenarios by name, a sweep's points by connection count.
func (s *Scenario) sortKey() string {
	if s.Group != "" {
		return fmt.Sprintf("%s\x00%09d", s.Group, s.Connections)
	}
	return s.Name
}

func (s *Scenario) matches(term string) bool {
	if tag, ok := strings.CutPrefix(term, "@"); ok {
		return slices.Contains(s.Tags, tag)
	}
	if term == s.Group {
		return true
	}
	ok, err := path.Match(term, s.Name)
	return err == nil && ok
}

// Settings is the part of a scenario a result depends on; it is recorded
// with every result.
func (s *Scenario) Settings() Settings {
	st := Settings{
		Connections: s.Connections,
		Threads:     s.Threads,
		DurationS:   time.Duration(s.Duration).Seconds(),
		WarmupS:     time.Duration(s.Warmup).Seconds(),
		Reps:        s.Reps,
		Path:        s.Path,
		Script:      s.Script,
		Routes:      s.Sluice.Routes,
		Services:    s.Services,
	}
	return st
}
