package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// build is a sluice binary under test: the working tree's in run, the two
// revisions' in compare.
type build struct {
	name  string // the target name: "sluice", or "base" / "new"
	bin   string
	label string // for the record: a short commit, plus tags
}

// sessionConfig is how a session runs.
type sessionConfig struct {
	Work      string // scratch directory (configs, logs, binaries)
	ProxyCPU  int    // the proxy under test runs here
	LoadCPU   int    // wrk, the origin and the suite itself run here
	Builds    []*build
	HAProxy   bool // add haproxy to every scenario's targets
	Baselines bool // measure the scenarios' direct/nginx/haproxy targets too (run does; compare on request)
	// ProfileDir, when set, is where each sluice build leaves a CPU profile
	// of each scenario (see profilePath); "" profiles nothing.
	ProfileDir string
	Log        io.Writer
}

// session owns the processes of one benchmark run: the origin lives for
// the whole session, every proxy (nginx, haproxy, sluice) for one scenario.
type session struct {
	cfg          sessionConfig
	origin       *server
	originStatus int // stub_status port
}

// refusedError means a sluice target did not load the scenario's config:
// the scenario is skipped, not the run.
type refusedError struct{ detail string }

func (e *refusedError) Error() string { return "sluice refused the config: " + e.detail }

// newSession starts the origin, serving the files the scenarios ask for.
func newSession(ctx context.Context, cfg sessionConfig, scenarios []*Scenario) (*session, error) {
	// nginx workers run as an unprivileged user: the work dir (0700 from
	// MkdirTemp) must be readable for the origin's files.
	if err := os.Chmod(cfg.Work, 0o755); err != nil {
		return nil, fmt.Errorf("suite: work dir: %w", err)
	}
	for _, d := range []string{"logs", "tmp", "www"} {
		if err := os.MkdirAll(filepath.Join(cfg.Work, d), 0o755); err != nil {
			return nil, fmt.Errorf("suite: work dir: %w", err)
		}
	}
	for _, sc := range scenarios {
		if sc.ResponseBytes > 0 {
			f := filepath.Join(cfg.Work, "www", strconv.Itoa(sc.ResponseBytes))
			if err := os.WriteFile(f, responseBody(sc.ResponseBytes), 0o644); err != nil {
				return nil, fmt.Errorf("suite: response file: %w", err)
			}
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, originStatus: ports[1]}
	if s.origin, err = startNginx(ctx, cfg.Work, "origin", originConf(cfg.Work, ports[0], ports[1]), cfg.LoadCPU, ports[0]); err != nil {
		return nil, err
	}
	return s, nil
}

// responseBody is n bytes of printable text.
func responseBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func (s *session) close() { s.origin.stop() }

// targetNames is what a scenario measures in this session, in order:
// baselines first, then the sluice builds.
func (s *session) targetNames(sc *Scenario) []string {
	var out []string
	for _, t := range sc.Targets {
		if t != targetSluice && s.cfg.Baselines {
			out = append(out, t)
		}
	}
	if s.cfg.HAProxy && s.cfg.Baselines && !slices.Contains(out, targetHAProxy) {
		out = append(out, targetHAProxy)
	}
	for _, b := range s.cfg.Builds {
		out = append(out, b.name)
	}
	if s.cfg.Baselines {
		for _, b := range s.cfg.Builds {
			for _, v := range slices.Sorted(maps.Keys(sc.Variants)) {
				out = append(out, b.name+"-"+v)
			}
		}
	}
	return out
}

// variant finds the build and configuration a target name stands for: a
// build with the scenario's own configuration, or <build>-<variant>.
func (s *session) variant(sc *Scenario, name string) (*build, *SluiceSpec) {
	if b := s.build(name); b != nil {
		return b, &sc.Sluice
	}
	for _, b := range s.cfg.Builds {
		if v, ok := strings.CutPrefix(name, b.name+"-"); ok {
			if spec, ok := sc.Variants[v]; ok {
				return b, &spec
			}
		}
	}
	return nil, nil
}

func (s *session) logf(format string, args ...any) { fmt.Fprintf(s.cfg.Log, format, args...) }

// runScenario measures one scenario: every target, Reps times, in rotating
// order. Every proxy starts fresh for the scenario, so no figure (RSS above
// all) carries over from the one before. A sluice that refuses the config
// gives a StatusRefused record, any other failure a "failed: …" one; only
// cancellation is an error.
func (s *session) runScenario(ctx context.Context, sc *Scenario) (*Record, error) {
	rec := &Record{Scenario: sc.Name, Group: sc.Group, Status: StatusOK, Settings: sc.Settings(),
		Targets: map[string]*TargetResult{}}
	rec.Settings.ProxyCPU, rec.Settings.LoadCPU = s.cfg.ProxyCPU, s.cfg.LoadCPU
	rec.Settings.CPUProfile = s.cfg.ProfileDir != ""
	err := s.measureScenario(ctx, sc, rec)
	var refused *refusedError
	switch {
	case err == nil:
		return rec, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.As(err, &refused):
		rec.Status, rec.Detail = StatusRefused, refused.detail
	default:
		rec.Status, rec.Detail = StatusFailed, err.Error()
	}
	rec.Targets = nil
	return rec, nil
}

func (s *session) measureScenario(ctx context.Context, sc *Scenario, rec *Record) error {
	// The origin first: a problem there is not sluice refusing anything.
	if err := probe(sc, s.origin.port); err != nil {
		return fmt.Errorf("origin: %w", err)
	}
	services, vars, err := s.startServices(ctx, sc)
	if err != nil {
		return err
	}
	var targets, started []*server
	defer func() {
		for _, t := range started {
			t.stop()
		}
		for _, svc := range services { // after the proxies that use them
			svc.stop()
		}
	}()
	for _, name := range s.targetNames(sc) {
		t, err := s.startTarget(ctx, sc, name, vars)
		if err != nil {
			return err
		}
		if name != targetDirect {
			started = append(started, t)
		}
		if err := probe(sc, t.port); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		targets = append(targets, t)
		rec.Targets[t.name] = &TargetResult{Version: t.version}
	}
	script := ""
	if sc.Script != "" {
		p, err := sc.ScriptPath()
		if err != nil {
			return err
		}
		script = p
	}
	lua, err := writeWrkScript(s.cfg.Work, sc.Name, script)
	if err != nil {
		return err
	}
	for rep := range sc.Reps {
		for i := range targets {
			t := targets[(i+rep)%len(targets)] // each target takes each position in turn
			sample, err := s.measure(ctx, sc, t, lua)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			rec.Targets[t.name].Reps = append(rec.Targets[t.name].Reps, sample)
			s.logf("  %-24s rep %d/%d %-8s %s\n", sc.Name, rep+1, sc.Reps, t.name, sampleLine(sample))
		}
	}
	for _, t := range rec.Targets {
		t.Summarize()
	}
	return nil
}

// startTarget starts what a target name stands for on the proxy CPU (the
// direct target is the origin itself); vars fill sluice's placeholders.
func (s *session) startTarget(ctx context.Context, sc *Scenario, name string, vars map[string]string) (*server, error) {
	switch name {
	case targetDirect:
		return &server{name: targetDirect, port: s.origin.port, version: s.origin.version}, nil
	case targetNginx, targetHAProxy:
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		if name == targetNginx {
			return startNginx(ctx, s.cfg.Work, targetNginx, nginxProxyConf(s.cfg.Work, ports[0], s.origin.port), s.cfg.ProxyCPU, ports[0])
		}
		return startHAProxy(ctx, s.cfg.Work, s.cfg.ProxyCPU, ports[0], s.origin.port)
	}
	b, spec := s.variant(sc, name)
	if b == nil {
		return nil, fmt.Errorf("suite: no build named %q", name)
	}
	return s.startSluice(ctx, sc, spec, b, name, vars)
}

func (s *session) build(name string) *build {
	for _, b := range s.cfg.Builds {
		if b.name == name {
			return b
		}
	}
	return nil
}

// startSluice writes spec, the scenario's config or a variant of it, for
// build b and starts it on the proxy CPU as target name, with vars filling
// the placeholders. A config sluice rejects (validate fails, the process
// exits, or the probe request gets no 2xx) is a refusedError.
func (s *session) startSluice(ctx context.Context, sc *Scenario, spec *SluiceSpec, b *build, name string, vars map[string]string) (*server, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.cfg.Work, "sluice-"+name+"-"+sc.Name)
	conf, err := writeSluiceConfig(sc, spec, dir, ports[0], vars)
	if err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, b.bin, "validate", "-c", conf).CombinedOutput(); err != nil {
		return nil, &refusedError{detail: "validate: " + lastLines(string(out), 3)}
	}
	args := []string{"run", "-c", conf, "-log-level", "warn"}
	if s.cfg.ProfileDir != "" {
		args = append(args, "-cpuprofile", profilePath(s.cfg.ProfileDir, sc.Name, name))
	}
	p, err := startPinned("sluice-"+name+"-"+sc.Name, s.cfg.ProxyCPU, filepath.Join(s.cfg.Work, "logs"), b.bin, args...)
	if err != nil {
		return nil, err
	}
	t := &server{name: name, proc: p, port: ports[0], cpuPid: p.pid(), version: b.label}
	// 100K routes load in ~2 s on a quiet machine; allow for a busy one.
	if err := waitPort(ctx, p, ports[0], 2*time.Minute); err != nil {
		t.stop()
		if p.exited() {
			return nil, &refusedError{detail: "exited: " + lastLines(p.tail(3), 3)}
		}
		return nil, err
	}
	if err := probe(sc, ports[0]); err != nil {
		t.stop()
		detail := err.Error()
		if l := p.tail(2); l != "" {
			detail += "; log: " + l
		}
		return nil, &refusedError{detail: detail}
	}
	return t, nil
}

// profilePath is where build's CPU profile of a scenario goes:
// DIR/<scenario>.prof for run's single build, DIR/<scenario>-<build>.prof
// for compare's base and new. sluice's -cpuprofile covers the process's
// life, which the runner limits to the scenario: config load, probe, the
// warm-ups and the timed runs (the load is the same in both, and loading
// shows up under its own functions, e.g. sync and config).
func profilePath(dir, scenario, build string) string {
	if build == targetSluice {
		return filepath.Join(dir, scenario+".prof")
	}
	return filepath.Join(dir, scenario+"-"+build+".prof")
}

// probe sends the scenario's request once and wants a 2xx answer.
func probe(sc *Scenario, port int) error {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, sc.Path), nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	for k, v := range sc.Headers {
		req.Header.Set(k, v)
	}
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // only the status matters
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe GET %s answered %d", sc.Path, resp.StatusCode)
	}
	return nil
}

// measure runs the warm-up and one timed wrk run against t, and reads the
// proxy's CPU time, memory and the origin's accepted connections around it.
func (s *session) measure(ctx context.Context, sc *Scenario, t *server, lua string) (map[string]float64, error) {
	spec := wrkSpec{
		URL:     fmt.Sprintf("http://127.0.0.1:%d%s", t.port, sc.Path),
		Threads: sc.Threads, Conns: sc.Connections, Timeout: time.Duration(sc.Timeout),
		Headers: sc.Headers, Script: lua, Args: sc.ScriptArgs, CPU: s.cfg.LoadCPU,
	}
	if sc.Warmup > 0 {
		w := spec
		w.Duration = time.Duration(sc.Warmup)
		if _, err := runWrk(ctx, w); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	spec.Duration = time.Duration(sc.Duration)
	var cpu0 float64
	var err error
	if t.cpuPid != 0 {
		if cpu0, err = cpuSeconds(t.cpuPid); err != nil {
			return nil, err
		}
	}
	acc0, err := originAccepts(s.originStatus)
	if err != nil {
		return nil, err
	}
	load0, err := readCPUTimes(s.cfg.LoadCPU)
	if err != nil {
		return nil, err
	}
	r, err := runWrk(ctx, spec)
	if err != nil {
		return nil, err
	}
	load1, err := readCPUTimes(s.cfg.LoadCPU)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{
		"rps": r.RPS(), "p50_ms": r.P50US / 1e3, "p90_ms": r.P90US / 1e3, "p99_ms": r.P99US / 1e3,
		"p999_ms": r.P999US / 1e3, "errors": r.Errors(), "requests": r.Requests,
		"load_cpu_util": load0.busyShare(load1),
	}
	if t.cpuPid == 0 {
		return out, nil
	}
	cpu1, err := cpuSeconds(t.cpuPid)
	if err != nil {
		return nil, err
	}
	acc1, err := originAccepts(s.originStatus)
	if err != nil {
		return nil, err
	}
	secs := r.DurationUS / 1e6
	out["cpu_us"] = (cpu1 - cpu0) * 1e6 / r.Requests
	out["cpu_util"] = (cpu1 - cpu0) / secs
	out["upstream_conns_s"] = float64(acc1-acc0-1) / secs // -1: the second status read
	if out["rss_mib"], out["peak_rss_mib"], err = memory(t.cpuPid); err != nil {
		return nil, err
	}
	return out, nil
}

// sampleLine is one repetition on the progress log.
func sampleLine(m map[string]float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9s req/s  p99 %s", fmtCount(m["rps"]), fmtMS(m["p99_ms"]))
	if v, ok := m["cpu_us"]; ok {
		fmt.Fprintf(&b, "  cpu %s/req  rss %s  upstream %s conn/s", fmtUS(v), fmtMiB(m["rss_mib"]), fmtCount(m["upstream_conns_s"]))
	}
	if m["errors"] > 0 {
		fmt.Fprintf(&b, "  errors %s", fmtCount(m["errors"]))
	}
	return b.String()
}
