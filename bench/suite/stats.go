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
// 6 at 95%), so the honest figure is the observed range. It is 0 when the
// median is 0 (no relative spread), NaN for no sample.
func spread(xs []float64) float64 {
	m := median(xs)
	if len(xs) == 0 {
		return math.NaN()
	}
	if m == 0 {
		return 0
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

// minPairs is the fewest pairs with which the signed-rank test can reach
// alpha at all (6 for 0.05, 8 for 0.01): fewer can never flag anything.
func minPairs(alpha float64) int {
	for n := 1; n < 30; n++ {
		// The smallest two-sided p of n pairs: 2 / 2^n.
		if 2/math.Pow(2, float64(n)) < alpha {
			return n
		}
	}
	return 30
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
	Delta  float64 `json:"delta"`
	P      float64 `json:"p"`
	Paired bool    `json:"paired,omitempty"` // P is the signed-rank test's
	// Noise is pairNoise of a paired comparison.
	Noise   float64 `json:"pair_noise,omitempty"`
	N1, N2  int     `json:"-"`
	Verdict Verdict `json:"-"`
	Result  string  `json:"verdict"` // Verdict as text, for JSON readers
}

// Decide compares independent base and new samples of metric m under gate
// g, with benchstat's U test.
func (g Gate) Decide(scenario string, m Metric, base, new []float64) Change {
	return g.decide(scenario, m, base, new, uTest(base, new), false)
}

// DecidePaired compares samples taken in pairs (base[i] and new[i] back to
// back, as compare's repetitions are) with the signed-rank test on the
// pairs, which cancels what drifts between repetitions on a busy machine.
// Unpaired lengths fall back to Decide.
func (g Gate) DecidePaired(scenario string, m Metric, base, new []float64) Change {
	if len(base) != len(new) {
		return g.Decide(scenario, m, base, new)
	}
	c := g.decide(scenario, m, base, new, signedRank(base, new), true)
	c.Noise = pairNoise(base, new)
	return c
}

// pairNoise is how much the pairs' ratios new/base vary: 1.4826 times their
// median absolute deviation (a robust standard deviation), as a fraction.
// The median of n such ratios is known to about ±1.25·Noise/√n, so a
// change much smaller than twice that cannot be told from noise.
func pairNoise(base, new []float64) float64 {
	var r []float64
	for i := range base {
		if base[i] > 0 && new[i] > 0 {
			r = append(r, math.Log(new[i]/base[i]))
		}
	}
	if len(r) < 2 {
		return 0
	}
	m := median(r)
	dev := make([]float64, len(r))
	for i, x := range r {
		dev[i] = math.Abs(x - m)
	}
	return math.Expm1(1.4826 * median(dev))
}

// Resolution is the smallest change the repetitions of a paired comparison
// can tell from noise (about two standard errors of the median ratio); 0
// when unknown.
func (c Change) Resolution() float64 {
	if !c.Paired || c.N1 == 0 {
		return 0
	}
	return 2 * 1.2533 * c.Noise / math.Sqrt(float64(c.N1))
}

func (g Gate) decide(scenario string, m Metric, base, new []float64, p float64, paired bool) Change {
	c := Change{Scenario: scenario, Metric: m.Key, Base: median(base), New: median(new),
		BaseSpread: spread(base), NewSpread: spread(new), N1: len(base), N2: len(new), P: p, Paired: paired}
	if c.Base != 0 {
		c.Delta = c.New/c.Base - 1
	}
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

// signedRank is the two-sided exact Wilcoxon signed-rank test of the
// pairs (a[i], b[i]): the probability, if neither side tends to be larger,
// of rank sums at least this lopsided. The differences are taken as
// log(b/a) when all values are positive (a loaded moment scales both
// sides), else b-a; zero differences are dropped and ties get mean ranks.
// With 6 pairs the smallest possible p is 2/64 = 0.031.
func signedRank(a, b []float64) float64 {
	logs := true
	for i := range a {
		if a[i] <= 0 || b[i] <= 0 {
			logs = false
		}
	}
	var d []float64
	for i := range a {
		x := b[i] - a[i]
		if logs {
			x = math.Log(b[i] / a[i])
		}
		if x != 0 {
			d = append(d, x)
		}
	}
	n := len(d)
	if n == 0 {
		return 1
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return cmpFloat(math.Abs(d[i]), math.Abs(d[j])) })
	// Doubled mean ranks, so tied ranks stay integers.
	rank2 := make([]int, n)
	for i := 0; i < n; {
		j := i
		for j+1 < n && math.Abs(d[idx[j+1]]) == math.Abs(d[idx[i]]) {
			j++
		}
		for k := i; k <= j; k++ {
			rank2[idx[k]] = i + j + 2 // 2 × the mean of ranks i+1 … j+1
		}
		i = j + 1
	}
	wPlus, total := 0, 0
	for i := range d {
		total += rank2[i]
		if d[i] > 0 {
			wPlus += rank2[i]
		}
	}
	// ways[s]: sign assignments whose positive ranks sum to s.
	ways := make([]float64, total+1)
	ways[0] = 1
	for _, r := range rank2 {
		for s := total; s >= r; s-- {
			ways[s] += ways[s-r]
		}
	}
	var lo, hi float64 // P(W+ <= w), P(W+ >= w)
	all := math.Pow(2, float64(n))
	for s, w := range ways {
		if s <= wPlus {
			lo += w
		}
		if s >= wPlus {
			hi += w
		}
	}
	return math.Min(1, 2*math.Min(lo, hi)/all)
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// DeltaString is benchstat's notation: "~" within the noise, else the
// change in percent.
func (c Change) DeltaString() string {
	if c.Verdict == Same {
		return "~"
	}
	return fmt.Sprintf("%+.2f%%", c.Delta*100)
}

// PString is benchstat's "(p=0.002 n=6)", "n=6 pairs" for paired tests.
func (c Change) PString() string {
	n := fmt.Sprintf("n=%d", c.N1)
	if c.N1 != c.N2 {
		n = fmt.Sprintf("n=%d+%d", c.N1, c.N2)
	}
	if c.Paired {
		n += " pairs"
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
