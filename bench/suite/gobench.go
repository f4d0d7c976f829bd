package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// goBenchOptions selects the Go microbenchmarks compare runs.
type goBenchOptions struct {
	pattern   string   // -test.bench; empty: none
	packages  []string // ./http1, ./trie, ...
	count     int      // runs per side, interleaved
	benchtime string   // -test.benchtime; empty: Go's default
}

// GoBenchResult is the microbenchmark part of a comparison.
type GoBenchResult struct {
	Packages  []string `json:"packages"`
	Count     int      `json:"count"`
	Benchstat string   `json:"benchstat"` // benchstat's own table
	Changes   []Change `json:"changes"`
}

// runGoBench compiles each package's test binary at both sources, runs
// them alternately count times with -benchmem (pinned to cpu, like the
// proxy), then compares: benchstat (go tool benchstat) prints the table,
// and Gate decides sec/op; more allocs/op is always a regression.
func runGoBench(ctx context.Context, o goBenchOptions, g Gate, sources []*source, work string, cpu int, log io.Writer) (*GoBenchResult, error) {
	type binary struct{ path, dir string }
	bins := map[string][]binary{}
	for _, src := range sources {
		for _, pkg := range o.packages {
			out := filepath.Join(work, "bin", "gobench-"+src.name+"-"+strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_")+".test")
			args := []string{"test", "-c", "-o", out}
			if src.tags != "" {
				args = append(args, "-tags", src.tags)
			}
			cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
			cmd.Dir = src.dir
			if b, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("suite: compiling %s tests at %s: %w: %s", pkg, src.label(), err, b)
			}
			if _, err := os.Stat(out); err != nil {
				continue // no test files in this package at this revision
			}
			bins[src.name] = append(bins[src.name], binary{out, filepath.Join(src.dir, pkg)})
		}
	}
	outputs := map[string]*bytes.Buffer{}
	for _, src := range sources {
		outputs[src.name] = &bytes.Buffer{}
	}
	for i := range o.count {
		for j := range sources {
			src := sources[(i+j)%len(sources)] // alternate which side goes first
			for _, b := range bins[src.name] {
				args := []string{"-c", strconv.Itoa(cpu), b.path, "-test.run", "^$", "-test.bench", o.pattern,
					"-test.benchmem", "-test.count", "1"}
				if o.benchtime != "" {
					args = append(args, "-test.benchtime", o.benchtime)
				}
				cmd := exec.CommandContext(ctx, "taskset", args...)
				cmd.Dir = b.dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					return nil, fmt.Errorf("suite: %s at %s: %w: %s", filepath.Base(b.path), src.label(), err, lastLines(string(out), 5))
				}
				outputs[src.name].Write(out)
			}
		}
		fmt.Fprintf(log, "  go benchmarks: run %d/%d done\n", i+1, o.count)
	}
	files := make([]string, len(sources))
	for i, src := range sources {
		files[i] = filepath.Join(work, src.name+".txt")
		if err := os.WriteFile(files[i], outputs[src.name].Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("suite: writing benchmark output: %w", err)
		}
	}
	res := &GoBenchResult{Packages: o.packages, Count: o.count}
	// benchstat is built from this module (go.mod's tool directive) and
	// run in the work dir, so its columns are headed base.txt and new.txt.
	benchstat := filepath.Join(work, "bin", "benchstat")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", benchstat, "golang.org/x/perf/cmd/benchstat").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("suite: building benchstat: %w: %s", err, b)
	}
	cmd := exec.CommandContext(ctx, benchstat, filepath.Base(files[0]), filepath.Base(files[1]))
	cmd.Dir = work
	st, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("suite: benchstat: %w: %s", err, st)
	}
	res.Benchstat = string(st)
	base, err := readBench(outputs[sources[0].name].Bytes(), files[0])
	if err != nil {
		return nil, err
	}
	new, err := readBench(outputs[sources[1].name].Bytes(), files[1])
	if err != nil {
		return nil, err
	}
	res.Changes = decideBench(g, base, new)
	return res, nil
}

// benchKey names one benchmark of one package.
type benchKey struct{ pkg, name string }

var gomaxprocsSuffix = regexp.MustCompile(`-[0-9]+$`)

// benchSamples maps each benchmark to its values per unit (sec/op, B/op,
// allocs/op), one per run.
type benchSamples map[benchKey]map[string][]float64

// readBench parses go test -bench output (the benchfmt format).
func readBench(data []byte, name string) (benchSamples, error) {
	out := benchSamples{}
	r := benchfmt.NewReader(bytes.NewReader(data), name)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue // unit metadata or a syntax error line: skipped as benchstat does
		}
		// Without the -GOMAXPROCS suffix, as benchstat shows names.
		k := benchKey{res.GetConfig("pkg"), gomaxprocsSuffix.ReplaceAllString(res.Name.String(), "")}
		if out[k] == nil {
			out[k] = map[string][]float64{}
		}
		for _, v := range res.Values {
			out[k][v.Unit] = append(out[k][v.Unit], v.Value)
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("suite: reading %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, errors.New("suite: no benchmark results (does the pattern match any?)")
	}
	return out, nil
}

// goBenchMetrics describe the units the gate looks at; sec/op uses the
// cpu_us threshold (both are "time per operation").
var goBenchMetrics = map[string]Metric{
	"sec/op":    {Key: "cpu_us", Label: "sec/op", Better: -1, Format: func(v float64) string { return strconv.FormatFloat(v*1e9, 'f', 1, 64) + " ns" }},
	"allocs/op": {Key: "allocs/op", Label: "allocs/op", Better: -1, Format: fmtCount},
}

// decideBench compares benchmarks present on both sides: sec/op under the
// gate, allocs/op by medians (more allocations is a regression whatever the
// noise: the count is deterministic, and zero is a documented target).
func decideBench(g Gate, base, new benchSamples) []Change {
	var keys []benchKey
	for k := range base {
		if new[k] != nil {
			keys = append(keys, k)
		}
	}
	sortBenchKeys(keys)
	var out []Change
	for _, k := range keys {
		name := strings.TrimPrefix(k.pkg, modulePath+"/") + "." + k.name
		if a, b := base[k]["sec/op"], new[k]["sec/op"]; len(a) > 0 && len(b) > 0 {
			c := g.Decide(name, goBenchMetrics["sec/op"], a, b)
			c.Metric = "sec/op"
			out = append(out, c)
		}
		if a, b := base[k]["allocs/op"], new[k]["allocs/op"]; len(a) > 0 && len(b) > 0 {
			c := g.Decide(name, goBenchMetrics["allocs/op"], a, b)
			c.Metric = "allocs/op"
			if c.New > c.Base {
				c.Verdict = Regression
			} else if c.Verdict != Same {
				c.Verdict = Changed
			}
			c.Result = c.Verdict.String()
			out = append(out, c)
		}
	}
	return out
}

// modulePath is trimmed from package names in reports.
const modulePath = "github.com/sluicegw/sluice"

func sortBenchKeys(keys []benchKey) {
	slices.SortFunc(keys, func(a, b benchKey) int {
		if c := strings.Compare(a.pkg, b.pkg); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
}
