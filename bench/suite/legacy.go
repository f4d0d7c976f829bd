package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// legacyResult is the JSON bench/compare.sh wrote before the suite
// existed (bench/results/compare-*.json).
type legacyResult struct {
	Date    time.Time `json:"date"`
	Machine struct {
		CPU    string `json:"cpu"`
		Cores  int    `json:"cores"`
		Kernel string `json:"kernel"`
	} `json:"machine"`
	Versions map[string]string `json:"versions"`
	Settings struct {
		DurationS   float64 `json:"duration_s"`
		WarmupS     float64 `json:"warmup_s"`
		Connections int     `json:"connections"`
		Rounds      int     `json:"rounds"`
		ScaleRoutes int     `json:"scale_routes"`
		Path        string  `json:"path"`
		ProxyCPU    int     `json:"proxy_cpu"`
		LoadCPU     int     `json:"load_cpu"`
	} `json:"settings"`
	Rounds []struct {
		Target string   `json:"target"`
		RPS    float64  `json:"rps"`
		P50    float64  `json:"p50_ms"`
		P99    float64  `json:"p99_ms"`
		CPU    *float64 `json:"cpu_us_per_req"`
	} `json:"rounds"`
}

// legacyRecords converts one compare.sh result: the one-route sluice with
// its baselines becomes a "no-plugin" record and, if the run had one, the
// SCALE_ROUTES sluice with the same baselines a "routes-100k" record (the
// scenarios that continue those measurements).
func legacyRecords(data []byte, file, commit, subject string, commitDate time.Time) ([]*Record, error) {
	var l legacyResult
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("suite: decoding %s: %w", file, err)
	}
	targets := map[string]*TargetResult{}
	for _, r := range l.Rounds {
		t := targets[r.Target]
		if t == nil {
			t = &TargetResult{}
			targets[r.Target] = t
		}
		rep := map[string]float64{"rps": r.RPS, "p50_ms": r.P50, "p99_ms": r.P99}
		if r.CPU != nil {
			rep["cpu_us"] = *r.CPU
		}
		t.Reps = append(t.Reps, rep)
	}
	for name, t := range targets {
		t.Summarize()
		switch name {
		case targetNginx:
			t.Version = "nginx " + l.Versions["nginx"]
		case targetSluice, "sluice-scale":
			t.Version = shortCommit(commit)
		}
	}
	if l.Settings.Path == "" {
		l.Settings.Path = "/hello" // compare.sh's first version asked every target for /hello
	}
	mk := func(scenario string, sluice *TargetResult, routes int) *Record {
		st := Settings{Connections: l.Settings.Connections, Threads: 1, DurationS: l.Settings.DurationS,
			WarmupS: l.Settings.WarmupS, Reps: l.Settings.Rounds, Path: l.Settings.Path, Routes: routes,
			ProxyCPU: l.Settings.ProxyCPU, LoadCPU: l.Settings.LoadCPU}
		ts := map[string]*TargetResult{targetSluice: sluice}
		for _, b := range []string{targetDirect, targetNginx} {
			if targets[b] != nil {
				ts[b] = targets[b]
			}
		}
		return &Record{Commit: commit, Subject: subject, CommitDate: commitDate, Date: l.Date, Scenario: scenario,
			Status: StatusOK, Settings: st, Targets: ts,
			Machine: Machine{CPU: l.Machine.CPU, Cores: l.Machine.Cores, Kernel: l.Machine.Kernel,
				Versions: map[string]string{"nginx": "nginx " + l.Versions["nginx"], "wrk": "wrk " + l.Versions["wrk"]}},
			Source: "bench/compare.sh, " + filepath.Base(file)}
	}
	var out []*Record
	if s := targets[targetSluice]; s != nil {
		out = append(out, mk("no-plugin", s, 0))
	}
	if s := targets["sluice-scale"]; s != nil {
		out = append(out, mk("routes-100k", s, l.Settings.ScaleRoutes))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("suite: %s has no sluice rounds", file)
	}
	return out, nil
}

func cmdImport(args []string, stderr io.Writer) error {
	fs := newFlagSet("import-compare", stderr)
	commit := fs.String("commit", "", "the commit the results were measured at (required)")
	history := fs.String("history", defaultHistory, "history file to append to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *commit == "" || fs.NArg() == 0 {
		return fmt.Errorf("suite: import-compare -commit REV FILE...")
	}
	info, err := gitOutput(".", "log", "-1", "--format=%H%x00%s%x00%cI", *commit)
	if err != nil {
		return err
	}
	f := strings.SplitN(strings.TrimSpace(info), "\x00", 3)
	if len(f) != 3 {
		return fmt.Errorf("suite: unexpected git log output %q", info)
	}
	date, err := time.Parse(time.RFC3339, f[2])
	if err != nil {
		return fmt.Errorf("suite: commit date: %w", err)
	}
	for _, file := range fs.Args() {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("suite: reading %s: %w", file, err)
		}
		recs, err := legacyRecords(data, file, f[0], f[1], date)
		if err != nil {
			return err
		}
		if err := AppendHistory(*history, recs...); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: %d records appended to %s\n", file, len(recs), *history)
	}
	return nil
}
