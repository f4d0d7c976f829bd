package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record is one line of the history (bench/results/history.jsonl): one
// scenario measured at one commit on one machine, every target of the run.
type Record struct {
	Commit     string    `json:"commit"`
	Dirty      bool      `json:"dirty,omitempty"` // uncommitted changes were built
	Subject    string    `json:"subject,omitempty"`
	CommitDate time.Time `json:"commit_date"`
	Date       time.Time `json:"date"` // when it was measured
	Machine    Machine   `json:"machine"`
	Scenario   string    `json:"scenario"`
	Group      string    `json:"group,omitempty"` // the sweep it belongs to
	// Status is StatusOK, StatusRefused or StatusFailed; Detail says why
	// for the last two.
	Status   string   `json:"status"`
	Detail   string   `json:"detail,omitempty"`
	Settings Settings `json:"settings"`
	// Targets by name: direct, nginx, haproxy, sluice (or, in compare, the
	// two builds).
	Targets map[string]*TargetResult `json:"targets,omitempty"`
	// RPSToNoPlugin is sluice's median req/s over sluice's median req/s on
	// the no-plugin scenario of the same run: what the plugins cost against
	// the bare data path ("plugin chain ≥ 0.90× the no-plugin req/s").
	// Set on scenarios tagged plugins when the run measured no-plugin with
	// the same connections and threads; zero otherwise.
	RPSToNoPlugin float64 `json:"rps_to_no_plugin,omitempty"`
	// Source says where a record came from when not from a suite run.
	Source string `json:"source,omitempty"`
}

// Record statuses.
const (
	StatusOK      = "ok"
	StatusRefused = "skipped: config refused"
	StatusFailed  = "failed"
)

// Settings is how a scenario was run.
type Settings struct {
	Connections int     `json:"connections"`
	Threads     int     `json:"threads"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	Reps        int     `json:"reps"`
	Path        string  `json:"path"`
	Script      string  `json:"script,omitempty"`
	Routes      int     `json:"routes,omitempty"`
	ProxyCPU    int     `json:"proxy_cpu"`
	LoadCPU     int     `json:"load_cpu"`
	// Services the runner started for the scenario (redis).
	Services []string `json:"services,omitempty"`
	// CPUProfile says sluice ran with -cpuprofile (run -profile), which
	// costs it some CPU.
	CPUProfile bool `json:"cpu_profile,omitempty"`
}

// Machine identifies where a record was measured; only records of the same
// machine are comparable.
type Machine struct {
	CPU      string            `json:"cpu"`
	Cores    int               `json:"cores"`
	MemGiB   int               `json:"mem_gib,omitempty"`
	Kernel   string            `json:"kernel,omitempty"`
	Go       string            `json:"go,omitempty"`
	Versions map[string]string `json:"versions,omitempty"` // nginx, wrk, haproxy, redis-server
}

// TargetResult holds one target's repetitions and their summary. Each
// repetition is a map of metric key (see metrics) to value; a key is absent
// where the metric does not apply (no CPU for the direct target).
type TargetResult struct {
	Version string               `json:"version,omitempty"`
	Reps    []map[string]float64 `json:"reps"`
	Median  map[string]float64   `json:"median"`
	Min     map[string]float64   `json:"min"`
	Max     map[string]float64   `json:"max"`
}

// Summarize fills Median, Min and Max from Reps.
func (t *TargetResult) Summarize() {
	t.Median, t.Min, t.Max = map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, m := range metrics {
		xs := t.values(m.Key)
		if len(xs) == 0 {
			continue
		}
		t.Median[m.Key] = median(xs)
		t.Min[m.Key], t.Max[m.Key] = minMax(xs)
	}
}

// values returns the repetitions' values of one metric.
func (t *TargetResult) values(key string) []float64 {
	var xs []float64
	for _, r := range t.Reps {
		if v, ok := r[key]; ok {
			xs = append(xs, v)
		}
	}
	return xs
}

// Metric describes one measured figure.
type Metric struct {
	Key    string
	Label  string
	Unit   string // for axis labels
	Better int    // +1: higher is better; -1: lower is better
	Proxy  bool   // measured on the proxy process (absent for direct)
	Format func(float64) string
}

// metrics are the figures every repetition records, in table order.
var metrics = []Metric{
	{Key: "rps", Label: "req/s", Better: +1, Format: fmtCount},
	{Key: "p50_ms", Label: "p50", Unit: "ms", Better: -1, Format: fmtMS},
	{Key: "p90_ms", Label: "p90", Unit: "ms", Better: -1, Format: fmtMS},
	{Key: "p99_ms", Label: "p99", Unit: "ms", Better: -1, Format: fmtMS},
	{Key: "p999_ms", Label: "p99.9", Unit: "ms", Better: -1, Format: fmtMS},
	{Key: "cpu_us", Label: "CPU/req", Unit: "µs", Better: -1, Proxy: true, Format: fmtUS},
	{Key: "cpu_util", Label: "proxy CPU busy", Unit: "%", Better: 0, Proxy: true, Format: fmtPct},
	// The load CPU (wrk and the origin) near 100% busy means the load, not
	// the proxy, limited req/s: the req/s ratio then understates the
	// faster proxy, and CPU/req is the figure to compare.
	{Key: "load_cpu_util", Label: "load CPU busy", Unit: "%", Better: 0, Format: fmtPct},
	{Key: "rss_mib", Label: "RSS", Unit: "MiB", Better: -1, Proxy: true, Format: fmtMiB},
	{Key: "peak_rss_mib", Label: "peak RSS", Unit: "MiB", Better: -1, Proxy: true, Format: fmtMiB},
	{Key: "upstream_conns_s", Label: "upstream connects/s", Better: -1, Proxy: true, Format: fmtCount},
	{Key: "errors", Label: "errors", Better: -1, Format: fmtCount},
	{Key: "requests", Label: "requests", Better: 0, Format: fmtCount},
}

// metricByKey finds a metric description; ok is false for unknown keys.
func metricByKey(key string) (Metric, bool) {
	for _, m := range metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

func fmtCount(v float64) string { return groupThousands(strconv.FormatFloat(v, 'f', 0, 64)) }
func fmtMS(v float64) string    { return strconv.FormatFloat(v, 'f', 3, 64) + " ms" }
func fmtUS(v float64) string    { return strconv.FormatFloat(v, 'f', 2, 64) + " µs" }
func fmtPct(v float64) string   { return strconv.FormatFloat(v*100, 'f', 0, 64) + "%" }
func fmtMiB(v float64) string   { return strconv.FormatFloat(v, 'f', 1, 64) + " MiB" }

// groupThousands puts commas in the integer part of a decimal string.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// AppendHistory appends records to the JSON-lines file at path.
func AppendHistory(path string, recs ...*Record) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("suite: opening history: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			f.Close()
			return fmt.Errorf("suite: encoding record: %w", err)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("suite: writing history: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("suite: writing history: %w", err)
	}
	return nil
}

// LoadHistory reads a JSON-lines history, oldest first by measurement
// date. A missing file is an empty history.
func LoadHistory(path string) ([]*Record, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("suite: reading history: %w", err)
	}
	return parseHistory(b, path)
}

func parseHistory(b []byte, name string) ([]*Record, error) {
	var out []*Record
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r := &Record{}
		if err := json.Unmarshal(line, r); err != nil {
			return nil, fmt.Errorf("suite: %s line %d: %w", name, i+1, err)
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out, nil
}

// gitInfo describes the commit of the tree in dir: hash, whether tracked
// files differ from it, subject and commit date.
func gitInfo(dir string) (commit string, dirty bool, subject string, date time.Time, err error) {
	out, err := gitOutput(dir, "log", "-1", "--format=%H%x00%s%x00%cI")
	if err != nil {
		return "", false, "", time.Time{}, err
	}
	f := strings.SplitN(strings.TrimSpace(out), "\x00", 3)
	if len(f) != 3 {
		return "", false, "", time.Time{}, fmt.Errorf("suite: unexpected git log output %q", out)
	}
	date, err = time.Parse(time.RFC3339, f[2])
	if err != nil {
		return "", false, "", time.Time{}, fmt.Errorf("suite: commit date: %w", err)
	}
	st, err := gitOutput(dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", false, "", time.Time{}, err
	}
	return f[0], strings.TrimSpace(st) != "", f[1], date, nil
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("suite: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// thisMachine describes the machine the suite runs on.
func thisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Versions: map[string]string{}}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %g kB", &kb); err == nil {
			m.MemGiB = int(kb/(1<<20) + 0.5)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	for _, t := range []string{"nginx", "wrk", "haproxy", "redis-server"} {
		if v := toolVersion(t); v != "" {
			m.Versions[t] = v
		}
	}
	return m
}
