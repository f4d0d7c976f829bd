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

func TestMinSamples(t *testing.T) {
	// benchmath's table: the smallest U-test p for n per side is 0.0286 at
	// n=4 and 0.0079 at n=5.
	if got := minSamples(0.05); got != 4 {
		t.Errorf("minSamples(0.05) = %d, want 4", got)
	}
	if got := minSamples(0.01); got != 5 {
		t.Errorf("minSamples(0.01) = %d, want 5", got)
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
