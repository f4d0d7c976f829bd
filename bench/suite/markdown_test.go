package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testHistory is a small history: no-plugin at two commits, a plugin
// scenario sluice refused, one it ran at both commits (related to
// no-plugin's run at the second), and a two-point connection sweep with
// haproxy.
func testHistory() []*Record {
	day0 := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	machine := Machine{CPU: "AMD EPYC", Cores: 2}
	target := func(version string, rps, p99, cpu float64, extra map[string]float64) *TargetResult {
		t := &TargetResult{Version: version}
		for i, f := range []float64{0.98, 1, 1.03} {
			rep := map[string]float64{"rps": rps * f, "p50_ms": p99 / 2, "p99_ms": p99 * f, "p999_ms": p99 * 2, "errors": 0}
			if cpu > 0 {
				rep["cpu_us"] = cpu / f
				rep["rss_mib"] = 20 + float64(i)
				rep["upstream_conns_s"] = rps / 1000
			}
			for k, v := range extra {
				rep[k] = v
			}
			t.Reps = append(t.Reps, rep)
		}
		t.Summarize()
		return t
	}
	rec := func(commit string, d int, scenario string, conns int, targets map[string]*TargetResult) *Record {
		return &Record{Commit: commit + strings.Repeat("0", 33), CommitDate: day0.AddDate(0, 0, d), Date: day0.AddDate(0, 0, d).Add(time.Hour),
			Machine: machine, Scenario: scenario, Status: StatusOK, Targets: targets,
			Settings: Settings{Connections: conns, Threads: 1, DurationS: 10, WarmupS: 2, Reps: 3, Path: "/svc7/api/v1/res707/item", LoadCPU: 1}}
	}
	refused := rec("bbbbbbb", 1, "limit-count-prometheus", 64, nil)
	refused.Status, refused.Detail = StatusRefused, "probe GET /svc7/api/v1/res707/item answered 503"
	sweep := func(conns int, nginxConns float64) *Record {
		r := rec("bbbbbbb", 1, "conn-sweep-c"+itoa(conns), conns, map[string]*TargetResult{
			// 8 KiB per client for nginx, 12 for sluice; haproxy's RSS stays put.
			"nginx": target("nginx 1.22.1", 60000, 2, 15, map[string]float64{"upstream_conns_s": nginxConns,
				"rss_mib": 10 + float64(conns)*8/1024}),
			"haproxy": target("haproxy 2.6.12", 58000, 3, 16, nil),
			"sluice":  target("bbbbbbb", 62000, 1.5, 14, map[string]float64{"rss_mib": 30 + float64(conns)*12/1024}),
		})
		r.Group = "conn-sweep"
		return r
	}
	luaHook := func(commit string, d int, rps, toNoPlugin float64) *Record {
		r := rec(commit, d, "lua-hook", 64, map[string]*TargetResult{
			"direct": target("nginx 1.22.1", 70000, 0.9, 0, nil),
			"nginx":  target("nginx 1.22.1", 62500, 1.6, 15.5, nil),
			"sluice": target(commit, rps, 1.6, 15.1, nil),
		})
		r.Date = r.Date.Add(time.Minute) // after no-plugin, in the same run
		r.RPSToNoPlugin = toNoPlugin
		return r
	}
	return []*Record{
		rec("aaaaaaa", 0, "no-plugin", 64, map[string]*TargetResult{
			"direct": target("nginx 1.22.1", 70000, 0.9, 0, nil),
			"nginx":  target("nginx 1.22.1", 63000, 1.6, 15.5, nil),
			"sluice": target("aaaaaaa", 63500, 1.5, 14.2, nil),
		}),
		rec("bbbbbbb", 1, "no-plugin", 64, map[string]*TargetResult{
			"direct": target("nginx 1.22.1", 70500, 0.95, 0, nil),
			"nginx":  target("nginx 1.22.1", 62000, 1.7, 15.6, nil),
			"sluice": target("bbbbbbb", 65000, 1.4, 13.9, nil),
		}),
		refused,
		luaHook("aaaaaaa", 0, 58000, 0), // a run without no-plugin
		luaHook("bbbbbbb", 1, 59800, 0.92),
		sweep(4000, 2500),
		sweep(64, 60),
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The generated blocks of testdata/markdown.in.md, regenerated from
// testHistory, give testdata/markdown.out.md; prose outside survives, and
// regenerating the result changes nothing.
func TestRegenerateMarkdown(t *testing.T) {
	in, err := os.ReadFile("testdata/markdown.in.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := RegenerateMarkdown(in, testHistory(), "bench/results/history.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/markdown.out.md"
	// -rewrite is internal/datadriven's flag (this package imports it).
	if f := flag.Lookup("rewrite"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("regenerated markdown differs from %s (go test -run Markdown ./bench/suite -args -rewrite):\n%s", golden, got)
	}
	again, err := RegenerateMarkdown(got, testHistory(), "bench/results/history.jsonl")
	if err != nil || string(again) != string(got) {
		t.Errorf("regenerating twice changed the file (err %v)", err)
	}
	for _, bad := range []string{"<!-- suite:begin nonsense -->\n<!-- suite:end -->", "<!-- suite:begin scenario -->\n<!-- suite:end -->",
		"<!-- suite:begin history x y -->\n<!-- suite:end -->"} {
		if _, err := RegenerateMarkdown([]byte(bad), nil, "h"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	recs := testHistory()
	// Appended out of date order, read back oldest first.
	if err := AppendHistory(path, recs[1], recs[0]); err != nil {
		t.Fatal(err)
	}
	if err := AppendHistory(path, recs[2:]...); err != nil {
		t.Fatal(err)
	}
	got, err := LoadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(recs)
	slices.SortStableFunc(want, func(a, b *Record) int { return a.Date.Compare(b.Date) })
	if len(got) != len(want) {
		t.Fatalf("read back %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Scenario != w.Scenario || g.Commit != w.Commit || g.RPSToNoPlugin != w.RPSToNoPlugin {
			t.Errorf("record %d: %s at %s (×%v), want %s at %s (×%v)", i, g.Scenario, g.Commit, g.RPSToNoPlugin, w.Scenario, w.Commit, w.RPSToNoPlugin)
		}
		if w.Targets["sluice"] != nil && g.Targets["sluice"].Median["rps"] != w.Targets["sluice"].Median["rps"] {
			t.Errorf("record %d: median rps %v, want %v", i, g.Targets["sluice"].Median["rps"], w.Targets["sluice"].Median["rps"])
		}
	}
	if none, err := LoadHistory(filepath.Join(t.TempDir(), "missing")); err != nil || none != nil {
		t.Errorf("missing history: %v, %v", none, err)
	}
	if err := os.WriteFile(path, []byte("{\"commit\": 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHistory(path); err == nil {
		t.Error("malformed history accepted")
	}
}

// BENCHMARKS.md's generated blocks match the committed history: the tables
// are regenerated by the suite, never edited by hand.
func TestBenchmarksMarkdownUpToDate(t *testing.T) {
	t.Chdir("../..")
	changed, err := regenerateFile(defaultMarkdown, defaultHistory, true)
	if err != nil {
		t.Fatal(err)
	}
	if changed {
		t.Errorf("%s differs from what %s gives; run go run ./bench/suite md", defaultMarkdown, defaultHistory)
	}
}

// A run that has no-plugin and plugin scenarios measures no-plugin first,
// and each plugin scenario records its req/s against it.
func TestRelateToNoPlugin(t *testing.T) {
	mk := func(name string, tags ...string) *Scenario { return &Scenario{Name: name, Tags: tags} }
	lua, np, routes := mk("lua-hook", "plugins"), mk("no-plugin", "compare"), mk("routes-100k", "scale")
	names := func(ss []*Scenario) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		in   []*Scenario
		want string
	}{
		{[]*Scenario{lua, np, routes}, "no-plugin,lua-hook,routes-100k"},
		{[]*Scenario{np, lua}, "no-plugin,lua-hook"},
		{[]*Scenario{routes, np}, "routes-100k,no-plugin"}, // no plugin scenario: order kept
		{[]*Scenario{lua, routes}, "lua-hook,routes-100k"},
	} {
		if got := names(runOrder(tc.in)); got != tc.want {
			t.Errorf("runOrder(%s) = %s, want %s", names(tc.in), got, tc.want)
		}
	}

	h := testHistory()
	base := h[1] // no-plugin at bbbbbbb: sluice 65,000 req/s
	fresh := func() *Record {
		r := *h[4] // lua-hook at bbbbbbb: sluice 59,800 req/s
		r.RPSToNoPlugin = 0
		return &r
	}
	r := fresh()
	relateToNoPlugin(lua, r, base)
	if want := 59800.0 / 65000; r.RPSToNoPlugin < want-1e-9 || r.RPSToNoPlugin > want+1e-9 {
		t.Errorf("ratio %v, want %v", r.RPSToNoPlugin, want)
	}
	var out strings.Builder
	writeRecordText(&out, r)
	writeNoPluginSummary(&out, []*Record{base, r})
	for _, want := range []string{"sluice / no-plugin (same run): req/s ×0.920", "relative to no-plugin in this run:\n  lua-hook"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for name, tc := range map[string]struct {
		sc   *Scenario
		base *Record
		edit func(*Record)
	}{
		"no no-plugin in the run": {lua, nil, nil},
		"not a plugin scenario":   {routes, base, nil},
		"refused":                 {lua, base, func(r *Record) { r.Status = StatusRefused }},
		"other connections":       {lua, base, func(r *Record) { r.Settings.Connections = 256 }},
	} {
		r := fresh()
		if tc.edit != nil {
			tc.edit(r)
		}
		relateToNoPlugin(tc.sc, r, tc.base)
		if r.RPSToNoPlugin != 0 {
			t.Errorf("%s: ratio %v set", name, r.RPSToNoPlugin)
		}
	}
}
