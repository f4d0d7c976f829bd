package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// reporterLua is appended to every wrk script (and is the whole script when
// a scenario has none). Its done() prints one line of exact figures, so no
// unit-suffixed text ("812.00us", "1.20ms") has to be parsed, and p99.9 is
// available. A scenario script's own done() still runs first. Defining only
// done() keeps wrk on its fast path (no Lua per request).
const reporterLua = `
-- appended by bench/suite: one line of exact figures at the end of the run
local suite_done = done
function done(summary, latency, requests)
  if suite_done then suite_done(summary, latency, requests) end
  local e = summary.errors
  io.write(string.format("SUITE-RESULT duration_us=%.0f requests=%.0f bytes=%.0f " ..
    "connect=%.0f read=%.0f write=%.0f status=%.0f timeout=%.0f " ..
    "mean_us=%.1f min_us=%.0f max_us=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f\n",
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.min, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
`

// wrkSpec is one wrk invocation.
type wrkSpec struct {
	URL      string
	Threads  int
	Conns    int
	Duration time.Duration
	Timeout  time.Duration // 0: wrk's default
	Headers  map[string]string
	Script   string   // the combined script (scenario script + reporter)
	Args     []string // after "--"
	CPU      int
}

// wrkResult is what the reporter prints; latencies in microseconds.
type wrkResult struct {
	DurationUS, Requests, Bytes                       float64
	Connect, Read, Write, Status, Timeout             float64
	MeanUS, MinUS, MaxUS, P50US, P90US, P99US, P999US float64
}

// Errors is every failed request wrk counted: socket errors, timeouts and
// non-2xx/3xx answers.
func (r wrkResult) Errors() float64 {
	return r.Connect + r.Read + r.Write + r.Status + r.Timeout
}

// RPS is requests per second over wrk's own measured duration.
func (r wrkResult) RPS() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return r.Requests / (r.DurationUS / 1e6)
}

// writeWrkScript writes the scenario's script (if any) followed by the
// reporter into dir, and returns its path.
func writeWrkScript(dir, name, scenarioScript string) (string, error) {
	var body []byte
	if scenarioScript != "" {
		b, err := os.ReadFile(scenarioScript)
		if err != nil {
			return "", fmt.Errorf("suite: reading wrk script: %w", err)
		}
		body = append(b, '\n')
	}
	body = append(body, reporterLua...)
	path := filepath.Join(dir, name+".lua")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return "", fmt.Errorf("suite: writing wrk script: %w", err)
	}
	return path, nil
}

// args is wrk's command line, pinned with taskset.
func (w wrkSpec) args() []string {
	a := []string{"-c", strconv.Itoa(w.CPU), "wrk",
		"-t", strconv.Itoa(w.Threads), "-c", strconv.Itoa(w.Conns),
		"-d", fmt.Sprintf("%.0fs", w.Duration.Seconds())}
	if w.Timeout > 0 {
		a = append(a, "--timeout", fmt.Sprintf("%.0fs", w.Timeout.Seconds()))
	}
	keys := make([]string, 0, len(w.Headers))
	for k := range w.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a = append(a, "-H", k+": "+w.Headers[k])
	}
	if w.Script != "" {
		a = append(a, "-s", w.Script)
	}
	a = append(a, w.URL)
	if len(w.Args) > 0 {
		a = append(append(a, "--"), w.Args...)
	}
	return a
}

// runWrk runs wrk and returns the reporter's figures.
func runWrk(ctx context.Context, w wrkSpec) (wrkResult, error) {
	// Generous: wrk stops on its own after Duration (plus its timeout for
	// requests in flight).
	ctx, cancel := context.WithTimeout(ctx, w.Duration+w.Timeout+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "taskset", w.args()...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("suite: wrk %s: %w: %s", w.URL, err, lastLines(string(out), 5))
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("suite: wrk %s: %w: %s", w.URL, err, lastLines(string(out), 5))
	}
	return r, nil
}

// parseWrk finds the reporter's SUITE-RESULT line in wrk's output.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "SUITE-RESULT ")
		if !ok {
			continue
		}
		fields := map[string]*float64{
			"duration_us": &r.DurationUS, "requests": &r.Requests, "bytes": &r.Bytes,
			"connect": &r.Connect, "read": &r.Read, "write": &r.Write, "status": &r.Status, "timeout": &r.Timeout,
			"mean_us": &r.MeanUS, "min_us": &r.MinUS, "max_us": &r.MaxUS,
			"p50_us": &r.P50US, "p90_us": &r.P90US, "p99_us": &r.P99US, "p999_us": &r.P999US,
		}
		for _, kv := range strings.Fields(rest) {
			k, v, ok := strings.Cut(kv, "=")
			dst := fields[k]
			if !ok || dst == nil {
				return r, fmt.Errorf("unexpected field %q in the result line", kv)
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return r, fmt.Errorf("field %s: %w", k, err)
			}
			*dst = f
			delete(fields, k)
		}
		if len(fields) > 0 {
			return r, fmt.Errorf("result line lacks %d fields", len(fields))
		}
		if r.Requests == 0 {
			return r, errors.New("no request completed")
		}
		return r, nil
	}
	return r, errors.New("no SUITE-RESULT line (did the script replace done()?)")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
