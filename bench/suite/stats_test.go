package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/datadriven"
)

func TestDecide(t *testing.T) {
	g := DefaultGate()
	datadriven.RunTest(t, "testdata/decide", func(t *testing.T, c *datadriven.Case) string {
		m, ok := metricByKey(c.Args[0])
		if !ok {
			t.Fatalf("%s: unknown metric %q", c.Pos, c.Args[0])
		}
		var base, new []float64
		for _, line := range c.Input {
			k, v, _ := strings.Cut(line, ":")
			xs := floats(t, v)
			switch k {
			case "base":
				base = xs
			case "new":
				new = xs
			default:
				t.Fatalf("%s: unknown input %q", c.Pos, k)
			}
		}
		ch := g.Decide("s", m, base, new)
		if c.Cmd == "decide-paired" {
			ch = g.DecidePaired("s", m, base, new)
		}
		return fmt.Sprintf("%s %s %s", ch.Verdict, ch.DeltaString(), ch.PString())
	})
}

func floats(t *testing.T, s string) []float64 {
	var out []float64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestMedianSpread(t *testing.T) {
	for _, tc := range []struct {
		xs             []float64
		median, spread float64
	}{
		{[]float64{3, 1, 2}, 2, 0.5},
		{[]float64{4, 1, 3, 2}, 2.5, 0.6},
		{[]float64{10}, 10, 0},
	} {
		if got := median(tc.xs); got != tc.median {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.median)
		}
		if got := spread(tc.xs); math.Abs(got-tc.spread) > 1e-12 {
			t.Errorf("spread(%v) = %v, want %v", tc.xs, got, tc.spread)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing should be NaN")
	}
	xs := []float64{3, 1, 2}
	median(xs)
	if xs[0] != 3 {
		t.Error("median sorted its argument")
	}
}

func TestMinPairs(t *testing.T) {
	// The smallest two-sided signed-rank p is 2/2^n: 0.031 at 6 pairs,
	// 0.0078 at 8.
	if got := minPairs(0.05); got != 6 {
		t.Errorf("minPairs(0.05) = %d, want 6", got)
	}
	if got := minPairs(0.01); got != 8 {
		t.Errorf("minPairs(0.01) = %d, want 8", got)
	}
}

func TestSignedRank(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float64
		p    float64
	}{
		// All six pairs one way: 2/64.
		{"all worse", []float64{10, 10, 10, 10, 10, 10}, []float64{11, 12, 13, 14, 15, 16}, 0.03125},
		{"all better", []float64{11, 12, 13, 14, 15, 16}, []float64{10, 10, 10, 10, 10, 10}, 0.03125},
		// Differences 1,-2,3,-4,5,-6: W+ = 9, P(W+ <= 9) = 27/64 (R's
		// wilcox.test gives 0.8438).
		{"mixed", []float64{0, 0, 0, 0, 0, 0}, []float64{1, -2, 3, -4, 5, -6}, 54.0 / 64},
		// Zero differences are dropped: three pairs left, all one way: 2/8.
		{"zeros dropped", []float64{1, 1, 1, 1, 2, 3}, []float64{1, 1, 1, 2, 3, 4}, 0.25},
		{"identical", []float64{5, 5, 5}, []float64{5, 5, 5}, 1},
		// Tied magnitudes (ranks 1.5, 1.5, 3): W+ = 1.5 + 3; the test stays
		// exact on doubled ranks.
		{"ties", []float64{0, 0, 0}, []float64{1, -1, 2}, 0.75},
	} {
		if got := signedRank(tc.a, tc.b); math.Abs(got-tc.p) > 1e-9 {
			t.Errorf("%s: p = %v, want %v", tc.name, got, tc.p)
		}
	}
}

func TestParseGate(t *testing.T) {
	th, err := parseGate("cpu_us=3, rps=2.5,p99_ms=10")
	if err != nil {
		t.Fatal(err)
	}
	if th["cpu_us"] != 0.03 || th["rps"] != 0.025 || th["p99_ms"] != 0.10 {
		t.Errorf("thresholds %v", th)
	}
	for _, bad := range []string{"cpu_us", "nope=3", "requests=3", "cpu_us=-1", "cpu_us=x"} {
		if _, err := parseGate(bad); err == nil {
			t.Errorf("parseGate(%q) accepted", bad)
		}
	}
}

func TestPairNoise(t *testing.T) {
	quiet := pairNoise([]float64{14, 14, 14, 14, 14, 14, 14, 14}, []float64{15, 15.1, 14.9, 15, 15.2, 14.8, 15, 15.1})
	busy := pairNoise([]float64{30, 30, 30, 30, 30, 30, 30, 30}, []float64{25, 36, 31, 27, 34, 22, 38, 30})
	if quiet > 0.01 || busy < 0.1 {
		t.Errorf("noise: quiet %.3f, busy %.3f", quiet, busy)
	}
	g := DefaultGate()
	m, _ := metricByKey("cpu_us")
	c := g.DecidePaired("s", m, []float64{30, 30, 30, 30, 30, 30, 30, 30}, []float64{25, 36, 31, 27, 34, 22, 38, 30})
	if res := c.Resolution(); res < g.Threshold["cpu_us"] {
		t.Errorf("a busy run resolves %.3f, under the %.2f gate", res, g.Threshold["cpu_us"])
	}
	var b strings.Builder
	writeCompareText(&b, &CompareReport{Alpha: g.Alpha, Threshold: g.Threshold, Changes: []Change{c}})
	if !strings.Contains(b.String(), "not trustworthy") {
		t.Errorf("no noise warning:\n%s", b.String())
	}
}
