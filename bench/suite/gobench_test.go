package main

import (
	"fmt"
	"strings"
	"testing"
)

// benchOutput fakes -count runs of two benchmarks in go test's format.
func benchOutput(parseNs, allocs float64, runs int) string {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/sluicegw/sluice/http1\n")
	for i := range runs {
		jitter := 1 + float64(i%3)*0.01
		fmt.Fprintf(&b, "BenchmarkParseRequestWrk-2   \t10000000\t  %.1f ns/op\t  0 B/op\t  %.0f allocs/op\n", parseNs*jitter, allocs)
		fmt.Fprintf(&b, "BenchmarkChunkedFraming-2    \t10000000\t  %.1f ns/op\t  0 B/op\t  0 allocs/op\n", 118*jitter)
	}
	b.WriteString("PASS\n")
	return b.String()
}

func TestDecideBench(t *testing.T) {
	g := DefaultGate()
	read := func(s string) benchSamples {
		bs, err := readBench([]byte(s), "x")
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}
	verdicts := func(base, new string) map[string]string {
		out := map[string]string{}
		for _, c := range decideBench(g, read(base), read(new)) {
			out[c.Scenario+" "+c.Metric] = c.Verdict.String()
		}
		return out
	}
	same := verdicts(benchOutput(85, 0, 6), benchOutput(85, 0, 6))
	for k, v := range same {
		if v != "same" {
			t.Errorf("identical runs: %s %s", k, v)
		}
	}
	slower := verdicts(benchOutput(85, 0, 6), benchOutput(95, 0, 6))
	if v := slower["http1.ParseRequestWrk sec/op"]; v != "REGRESSION" {
		t.Errorf("12%% slower parse: %s (all: %v)", v, slower)
	}
	if v := slower["http1.ChunkedFraming sec/op"]; v != "same" {
		t.Errorf("unchanged benchmark: %s", v)
	}
	allocs := verdicts(benchOutput(85, 0, 6), benchOutput(85, 1, 6))
	if v := allocs["http1.ParseRequestWrk allocs/op"]; v != "REGRESSION" {
		t.Errorf("an allocation appeared: %s", v)
	}
	if _, err := readBench([]byte("PASS\n"), "x"); err == nil {
		t.Error("output without results accepted")
	}
}

func TestCompareReport(t *testing.T) {
	g := DefaultGate()
	rec := &Record{Scenario: "no-plugin", Status: StatusOK, Targets: map[string]*TargetResult{"base": {}, "new": {}}}
	for i := range 6 {
		d := float64(i) * 0.05
		rec.Targets["base"].Reps = append(rec.Targets["base"].Reps, map[string]float64{"rps": 63000 + d*1000, "cpu_us": 14 + d, "p99_ms": 1.5 + d})
		rec.Targets["new"].Reps = append(rec.Targets["new"].Reps, map[string]float64{"rps": 59000 + d*1000, "cpu_us": 15 + d, "p99_ms": 1.5 + d})
	}
	refused := &Record{Scenario: "key-auth-chain", Status: StatusRefused, Detail: "answered 503"}
	r := &CompareReport{Base: "aaaaaaa", New: "aaaaaaa -tags sluice_slowdown", Alpha: g.Alpha, Threshold: g.Threshold,
		Records: []*Record{rec, refused}, Changes: compareRecord(g, rec)}
	if n := r.Regressions(); n != 2 {
		t.Errorf("%d regressions, want 2 (req/s and CPU/req)", n)
	}
	var b strings.Builder
	writeCompareText(&b, r)
	out := b.String()
	for _, want := range []string{"REGRESSION", "key-auth-chain", "skipped: config refused", "~", "2 regression(s)", "+7."} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if c := compareRecord(g, refused); c != nil {
		t.Errorf("refused record compared: %v", c)
	}
}
