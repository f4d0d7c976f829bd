package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchmath"
)

// median of xs (which it does not modify); NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minMax(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(xs), slices.Max(xs)
}

// spread is the largest distance of a sample from its median, as a
// fraction of the median: what "± x%" shows. With a handful of repetitions
// a confidence interval of the median does not exist yet (benchstat needs
// 6 at 95%), so the honest figure is the observed range.
func spread(xs []float64) float64 {
	m := median(xs)
	if len(xs) == 0 || m == 0 {
		return math.NaN()
	}
	lo, hi := minMax(xs)
	return math.Max(hi-m, m-lo) / math.Abs(m)
}

// uTest is the two-sided Mann-Whitney U test of benchstat
// (golang.org/x/perf/benchmath): the probability of samples at least this
// different if both came from one distribution. Identical samples give 1.
func uTest(a, b []float64) float64 {
	th := &benchmath.DefaultThresholds
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(a), th), benchmath.NewSample(slices.Clone(b), th))
	return c.P
}

// minSamples is the fewest repetitions per side with which the U test can
// reach alpha at all (4 for 0.05, 5 for 0.01): fewer can never flag anything.
func minSamples(alpha float64) int {
	for n := 1; n < 20; n++ {
		// The smallest p of two samples of n: 2 / C(2n, n).
		if 2/binomial(2*n, n) <= alpha {
			return n
		}
	}
	return 20
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// Gate decides which changes are regressions.
type Gate struct {
	// Alpha is the significance level of the U test (benchstat's 0.05).
	Alpha float64
	// Threshold is, per metric key, the relative change in the bad
	// direction beyond which a significant change is a regression (0.03 =
	// 3%). Metrics without one are reported, never gating.
	Threshold map[string]float64
}

// DefaultGate flags CPU per request or throughput worse by more than 3%,
// significant at 0.05: a 1 µs busy loop on a ~14 µs request is ~7%.
func DefaultGate() Gate {
	return Gate{Alpha: 0.05, Threshold: map[string]float64{"cpu_us": 0.03, "rps": 0.03}}
}

// Verdict is what a comparison concludes for one metric.
type Verdict uint8

const (
	// Same: the difference is within the noise of the repetitions.
	Same Verdict = iota
	// Changed: significant, but smaller than the threshold (or the metric
	// is not gated).
	Changed
	// Improvement: significant and better by more than the threshold.
	Improvement
	// Regression: significant and worse by more than the threshold.
	Regression
)

func (v Verdict) String() string {
	switch v {
	case Changed:
		return "changed"
	case Improvement:
		return "improvement"
	case Regression:
		return "REGRESSION"
	}
	return "same"
}

// Change compares one metric of one scenario between two builds.
type Change struct {
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	Base     float64 `json:"base"` // medians
	New      float64 `json:"new"`
	// BaseSpread and NewSpread are spread() of each side.
	BaseSpread float64 `json:"base_spread"`
	NewSpread  float64 `json:"new_spread"`
	// Delta is New/Base - 1.
	Delta   float64 `json:"delta"`
	P       float64 `json:"p"`
	N1, N2  int     `json:"-"`
	Verdict Verdict `json:"-"`
	Result  string  `json:"verdict"` // Verdict as text, for JSON readers
}

// Decide compares base and new samples of metric m under gate g.
func (g Gate) Decide(scenario string, m Metric, base, new []float64) Change {
	c := Change{Scenario: scenario, Metric: m.Key, Base: median(base), New: median(new),
		BaseSpread: spread(base), NewSpread: spread(new), N1: len(base), N2: len(new)}
	if c.Base != 0 {
		c.Delta = c.New/c.Base - 1
	}
	c.P = uTest(base, new)
	c.Verdict = Same
	if c.P < g.Alpha {
		c.Verdict = Changed
		if th, gated := g.Threshold[m.Key]; gated && m.Better != 0 {
			worse := -float64(m.Better) * c.Delta
			switch {
			case worse > th:
				c.Verdict = Regression
			case -worse > th:
				c.Verdict = Improvement
			}
		}
	}
	c.Result = c.Verdict.String()
	return c
}

// DeltaString is benchstat's notation: "~" within the noise, else the
// change in percent.
func (c Change) DeltaString() string {
	if c.Verdict == Same {
		return "~"
	}
	return fmt.Sprintf("%+.2f%%", c.Delta*100)
}

// PString is benchstat's "(p=0.002 n=6)".
func (c Change) PString() string {
	n := fmt.Sprintf("n=%d", c.N1)
	if c.N1 != c.N2 {
		n = fmt.Sprintf("n=%d+%d", c.N1, c.N2)
	}
	return fmt.Sprintf("(p=%.3f %s)", c.P, n)
}

// pctString is a spread as "± 2%".
func pctString(f float64) string {
	if math.IsNaN(f) {
		return ""
	}
	return fmt.Sprintf("± %.0f%%", f*100)
}

// parseGate reads "cpu_us=3,rps=3" (percent per metric) into thresholds.
func parseGate(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("suite: gate %q: want metric=percent", kv)
		}
		m, known := metricByKey(k)
		if !known || m.Better == 0 {
			return nil, fmt.Errorf("suite: gate %q: not a metric with a better direction", k)
		}
		var pct float64
		if _, err := fmt.Sscanf(v, "%g", &pct); err != nil || pct < 0 {
			return nil, fmt.Errorf("suite: gate %q: bad percentage %q", k, v)
		}
		out[k] = pct / 100
	}
	return out, nil
}
