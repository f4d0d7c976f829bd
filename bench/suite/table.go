package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// baselineOrder is the order targets appear in tables; builds follow.
var baselineOrder = []string{targetDirect, targetNginx, targetHAProxy}

func isBaseline(name string) bool { return slices.Contains(baselineOrder, name) }

// targetOrder lists a record's targets: baselines first, then builds by name.
func targetOrder(rec *Record) []string {
	var out, builds []string
	for _, b := range baselineOrder {
		if _, ok := rec.Targets[b]; ok {
			out = append(out, b)
		}
	}
	for name := range rec.Targets {
		if !isBaseline(name) {
			builds = append(builds, name)
		}
	}
	slices.Sort(builds)
	return append(out, builds...)
}

// cell formats one metric of a target: the median, with min–max when asked.
func cell(t *TargetResult, key string, withRange bool) string {
	m, _ := metricByKey(key)
	v, ok := t.Median[key]
	if !ok {
		return "—"
	}
	s := m.Format(v)
	if withRange && len(t.Reps) > 1 {
		s += " (" + strings.TrimSuffix(m.Format(t.Min[key]), " "+m.Unit) + "–" + m.Format(t.Max[key]) + ")"
	}
	return s
}

// recordTable is a record's per-target table: medians of the repetitions,
// with the range for throughput and CPU.
func recordTable(rec *Record) (header []string, rows [][]string) {
	header = []string{"target", "req/s (min–max)", "p50", "p99", "p99.9", "CPU/req (min–max)", "RSS", "upstream connects/s", "proxy/load CPU busy", "errors"}
	for _, name := range targetOrder(rec) {
		t := rec.Targets[name]
		label := name
		if t.Version != "" && !isBaseline(name) {
			label += " " + t.Version
		}
		rows = append(rows, []string{label, cell(t, "rps", true), cell(t, "p50_ms", false), cell(t, "p99_ms", false),
			cell(t, "p999_ms", false), cell(t, "cpu_us", true), cell(t, "rss_mib", false),
			cell(t, "upstream_conns_s", false), busyCell(t), cell(t, "errors", false)})
	}
	return header, rows
}

// busyCell shows how busy the proxy's CPU and the load's CPU were: a load
// CPU near 100% says the load generator, not the proxy, set the pace.
func busyCell(t *TargetResult) string {
	proxy, load := cell(t, "cpu_util", false), cell(t, "load_cpu_util", false)
	if proxy == "—" && load == "—" {
		return "—"
	}
	return proxy + " / " + load
}

// ratio is a/b of one metric's medians; ok is false when either is missing.
func ratio(a, b *TargetResult, key string) (float64, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	x, ok1 := a.Median[key]
	y, ok2 := b.Median[key]
	if !ok1 || !ok2 || y == 0 {
		return 0, false
	}
	return x / y, true
}

// ratioLines compares each build with each baseline of the record:
// "sluice / nginx: req/s ×1.009, p99 ×0.963, CPU/req ×0.916".
func ratioLines(rec *Record) []string {
	var out []string
	for _, name := range targetOrder(rec) {
		if isBaseline(name) {
			continue
		}
		// A build against its variants (sluice / sluice-catchall), then
		// against the baselines.
		var bases []string
		for _, v := range targetOrder(rec) {
			if strings.HasPrefix(v, name+"-") {
				bases = append(bases, v)
			}
		}
		for _, base := range append(bases, baselineOrder...) {
			var parts []string
			for _, key := range []string{"rps", "p99_ms", "cpu_us"} {
				if r, ok := ratio(rec.Targets[name], rec.Targets[base], key); ok {
					m, _ := metricByKey(key)
					parts = append(parts, fmt.Sprintf("%s ×%.3f", m.Label, r))
				}
			}
			if len(parts) > 0 {
				out = append(out, fmt.Sprintf("%s / %s: %s", name, base, strings.Join(parts, ", ")))
			}
		}
	}
	return out
}

// settingsLine describes how a record was measured.
func settingsLine(rec *Record) string {
	st := rec.Settings
	s := fmt.Sprintf("%d connections (wrk -t%d), %d × %gs after %gs warm-up, GET %s", st.Connections, st.Threads,
		st.Reps, st.DurationS, st.WarmupS, st.Path)
	if st.Script != "" {
		s += ", script " + st.Script
	}
	if st.Routes > 0 {
		s += fmt.Sprintf(", %s routes", fmtCount(float64(st.Routes)))
	}
	if len(st.Services) > 0 {
		s += ", with " + strings.Join(st.Services, ", ")
	}
	if st.CPUProfile {
		s += ", sluice CPU-profiled"
	}
	return s
}

// writeRecordText prints a record for the terminal.
func writeRecordText(w io.Writer, rec *Record) {
	fmt.Fprintf(w, "\n== %s: %s\n", rec.Scenario, settingsLine(rec))
	if rec.Status != StatusOK {
		fmt.Fprintf(w, "%s (%s)\n", rec.Status, rec.Detail)
		return
	}
	header, rows := recordTable(rec)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	for _, l := range ratioLines(rec) {
		fmt.Fprintln(w, l)
	}
	if l := noPluginLine(rec); l != "" {
		fmt.Fprintln(w, l)
	}
}

// writeMarkdownTable writes a GitHub table.
func writeMarkdownTable(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }
