package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// compareMetrics are reported for every scenario of a comparison, in
// order; Gate.Threshold decides which of them can fail it.
var compareMetrics = []string{"rps", "cpu_us", "p50_ms", "p99_ms", "peak_rss_mib", "upstream_conns_s"}

// CompareReport is the outcome of compare: written as JSON with -json.
type CompareReport struct {
	Base      string             `json:"base"` // labels: short commit and tags
	New       string             `json:"new"`
	Date      time.Time          `json:"date"`
	Machine   Machine            `json:"machine"`
	Alpha     float64            `json:"alpha"`
	Threshold map[string]float64 `json:"threshold"`
	Records   []*Record          `json:"records"`
	Changes   []Change           `json:"changes"`
	GoBench   *GoBenchResult     `json:"go_bench,omitempty"`
}

// Regressions counts the changes that fail the gate.
func (r *CompareReport) Regressions() int {
	n := 0
	for _, c := range r.Changes {
		if c.Verdict == Regression {
			n++
		}
	}
	if r.GoBench != nil {
		for _, c := range r.GoBench.Changes {
			if c.Verdict == Regression {
				n++
			}
		}
	}
	return n
}

// compareRecord decides every reported metric of one scenario's record
// (targets "base" and "new").
func compareRecord(g Gate, rec *Record) []Change {
	base, new := rec.Targets["base"], rec.Targets["new"]
	if rec.Status != StatusOK || base == nil || new == nil {
		return nil
	}
	var out []Change
	for _, key := range compareMetrics {
		m, _ := metricByKey(key)
		a, b := base.values(key), new.values(key)
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		out = append(out, g.DecidePaired(rec.Scenario, m, a, b))
	}
	return out
}

// writeCompareText prints the report in benchstat's layout: each side's
// median ± spread, then the change, "~" when within the noise.
func writeCompareText(w io.Writer, r *CompareReport) {
	fmt.Fprintf(w, "\nbase: %s\nnew:  %s\n", r.Base, r.New)
	fmt.Fprintf(w, "signed-rank test on the repetitions' pairs at alpha %.2f; regression: a significant change worse than %s\n\n", r.Alpha, thresholdText(r.Threshold))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tmetric\tbase\t\tnew\t\tvs base\t\t")
	last := ""
	for _, rec := range r.Records {
		if rec.Status != StatusOK {
			fmt.Fprintf(tw, "%s\t%s (%s)\t\t\t\t\t\t\t\n", rec.Scenario, rec.Status, rec.Detail)
		}
	}
	for _, c := range r.Changes {
		name := c.Scenario
		if name == last {
			name = ""
		}
		last = c.Scenario
		m, _ := metricByKey(c.Metric)
		mark := ""
		if c.Verdict == Regression || c.Verdict == Improvement {
			mark = c.Verdict.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, m.Label, m.Format(c.Base), pctString(c.BaseSpread),
			m.Format(c.New), pctString(c.NewSpread), c.DeltaString(), c.PString(), mark)
	}
	tw.Flush()
	for _, c := range r.Changes {
		th, gated := r.Threshold[c.Metric]
		if res := c.Resolution(); gated && res > th {
			m, _ := metricByKey(c.Metric)
			fmt.Fprintf(w, "warning: %s %s: the pairs vary by ±%.0f%%, so only changes over ~%.0f%% stand out with %d repetitions; the %.0f%% gate is not trustworthy on this run (a quieter machine, or more -reps)\n",
				c.Scenario, m.Label, c.Noise*100, res*100, c.N1, th*100)
		}
	}
	if r.GoBench != nil {
		fmt.Fprintf(w, "\nGo benchmarks (%s, -count %d), benchstat:\n\n%s", strings.Join(r.GoBench.Packages, " "), r.GoBench.Count, r.GoBench.Benchstat)
		for _, c := range r.GoBench.Changes {
			if c.Verdict == Regression {
				fmt.Fprintf(w, "REGRESSION %s %s: %s %s\n", c.Scenario, c.Metric, c.DeltaString(), c.PString())
			}
		}
	}
	if n := r.Regressions(); n > 0 {
		fmt.Fprintf(w, "\n%d regression(s)\n", n)
	} else {
		fmt.Fprintf(w, "\nno regression\n")
	}
}

func thresholdText(th map[string]float64) string {
	var parts []string
	for _, key := range compareMetrics {
		if v, ok := th[key]; ok {
			m, _ := metricByKey(key)
			parts = append(parts, fmt.Sprintf("%s %.1f%%", m.Label, v*100))
		}
	}
	return strings.Join(parts, ", ")
}

// compareOptions are compare's flags.
type compareOptions struct {
	common    commonOptions
	baseTags  string
	newTags   string
	gate      Gate
	baselines bool
	jsonOut   string
	goBench   goBenchOptions
}

// runCompare builds base and new, measures them interleaved on the
// selected scenarios (and Go benchmarks if asked), prints the report and
// returns it.
func runCompare(ctx context.Context, o compareOptions, baseRev, newRev string, stdout, stderr io.Writer) (*CompareReport, error) {
	scenarios, err := o.common.scenarios()
	if err != nil {
		return nil, err
	}
	for _, sc := range scenarios {
		if n := minPairs(o.gate.Alpha); sc.Reps < n {
			fmt.Fprintf(stderr, "warning: %s has %d repetitions; the signed-rank test needs %d pairs to flag anything at alpha %.2f\n", sc.Name, sc.Reps, n, o.gate.Alpha)
		}
	}
	if err := ensureTools(o.common.install, neededTools(false, scenarios), stderr); err != nil {
		return nil, err
	}
	work, cleanup, err := o.common.workDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var sources []*source
	defer func() {
		for _, s := range sources {
			if err := s.cleanup(); err != nil {
				fmt.Fprintf(stderr, "removing worktree %s: %v\n", s.dir, err)
			}
		}
	}()
	var builds []*build
	for _, side := range []struct{ name, rev, tags string }{{"base", baseRev, o.baseTags}, {"new", newRev, o.newTags}} {
		src, err := checkout(work, side.name, side.rev, side.tags)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
		fmt.Fprintf(stderr, "building %s (%s)...\n", side.name, src.label())
		b, err := buildSluice(ctx, src, work)
		if err != nil {
			return nil, err
		}
		builds = append(builds, b)
	}
	profiles, err := o.common.profileDir()
	if err != nil {
		return nil, err
	}
	if err := o.common.prepareMachine(); err != nil {
		return nil, err
	}
	report := &CompareReport{Base: builds[0].label, New: builds[1].label, Date: time.Now().UTC(), Machine: thisMachine(),
		Alpha: o.gate.Alpha, Threshold: o.gate.Threshold}
	sess, err := newSession(ctx, sessionConfig{Work: work, ProxyCPU: o.common.proxyCPU, LoadCPU: o.common.loadCPU,
		Builds: builds, Baselines: o.baselines, ProfileDir: profiles, Log: stderr}, scenarios)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	for _, sc := range scenarios {
		rec, err := sess.runScenario(ctx, sc)
		if err != nil {
			return nil, err
		}
		rec.Date, rec.Machine = time.Now().UTC(), report.Machine
		report.Records = append(report.Records, rec)
		report.Changes = append(report.Changes, compareRecord(o.gate, rec)...)
		if o.baselines && rec.Status == StatusOK {
			writeRecordText(stdout, rec) // base and new beside direct and nginx
		}
		if rec.Status != StatusOK {
			fmt.Fprintf(stderr, "  %s: %s (%s)\n", sc.Name, rec.Status, rec.Detail)
		}
	}
	sess.close()
	if o.goBench.pattern != "" {
		if report.GoBench, err = runGoBench(ctx, o.goBench, o.gate, sources, work, o.common.proxyCPU, stderr); err != nil {
			return nil, err
		}
	}
	writeCompareText(stdout, report)
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("suite: encoding the report: %w", err)
		}
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("suite: writing the report: %w", err)
		}
	}
	return report, nil
}
