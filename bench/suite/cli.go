package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const usage = `usage: go run ./bench/suite <command> [flags] [args]

commands:
  run                 measure the working tree's sluice against direct, nginx (and haproxy)
                      on the selected scenarios; append to the history, regenerate
                      BENCHMARKS.md and the history plot
  compare REV1 REV2   build both revisions (git worktrees; "." is the working tree), measure
                      them interleaved, print a benchstat-style table; exit 1 on a regression
  md                  regenerate BENCHMARKS.md's generated blocks from the history
  plot                draw the history (PNG and SVG)
  list                list the scenarios
  import-compare      turn bench/compare.sh result files into history records

"go run ./bench/suite <command> -h" lists a command's flags.
`

// Default paths, relative to the repository root (where the suite runs).
const (
	defaultScenarioDir = "bench/scenarios"
	defaultHistory     = "bench/results/history.jsonl"
	defaultMarkdown    = "BENCHMARKS.md"
	defaultPlot        = "benchmarks-history" // .png and .svg
)

// exitRegression is compare's exit code when the gate fails; errors exit 2.
const exitRegression = 1

// cli runs one command and returns the exit code.
func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	code := 0
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "compare":
		code, err = cmdCompare(ctx, args[1:], stdout, stderr)
	case "md":
		err = cmdMarkdown(args[1:], stdout, stderr)
	case "plot":
		err = cmdPlot(args[1:], stderr)
	case "list":
		err = cmdList(args[1:], stdout, stderr)
	case "import-compare":
		err = cmdImport(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "suite: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return code
}

// commonOptions are the flags run and compare share.
type commonOptions struct {
	scenarioDir string
	files       multiFlag
	selector    string
	reps        int
	duration    time.Duration
	warmup      time.Duration
	proxyCPU    int
	loadCPU     int
	install     bool
	keep        bool
	profile     string
}

func (o *commonOptions) register(fs *flag.FlagSet, defaultSelector string) {
	fs.StringVar(&o.scenarioDir, "scenarios", defaultScenarioDir, "directory of scenario files (*.yaml)")
	fs.Var(&o.files, "f", "an extra scenario file (repeatable)")
	fs.StringVar(&o.selector, "s", defaultSelector, "scenarios: comma-separated names, globs, sweep groups or @tags")
	fs.IntVar(&o.reps, "reps", 0, "timed runs per target (0: each scenario's own)")
	fs.DurationVar(&o.duration, "duration", 0, "each timed run (0: each scenario's own)")
	fs.DurationVar(&o.warmup, "warmup", -1, "warm-up before each timed run (-1: each scenario's own; 0: none)")
	fs.IntVar(&o.proxyCPU, "proxy-cpu", 0, "CPU for the proxy under test")
	fs.IntVar(&o.loadCPU, "load-cpu", 1, "CPU for wrk, the origin and the suite")
	fs.BoolVar(&o.install, "install", true, "apt-get install wrk, nginx (haproxy, redis-server) if missing (as root)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configs, logs) and print its path")
	fs.StringVar(&o.profile, "profile", "", "run sluice with -cpuprofile, leaving DIR/<scenario>.prof (compare: <scenario>-base.prof, -new.prof)")
}

// profileDir creates the -profile directory and returns its absolute path
// ("" without -profile).
func (o *commonOptions) profileDir() (string, error) {
	if o.profile == "" {
		return "", nil
	}
	dir, err := filepath.Abs(o.profile)
	if err != nil {
		return "", fmt.Errorf("suite: -profile: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("suite: -profile: %w", err)
	}
	return dir, nil
}

// scenarios loads, selects and applies the overrides.
func (o *commonOptions) scenarios() ([]*Scenario, error) {
	all, err := LoadScenarios(o.scenarioDir, o.files...)
	if err != nil {
		return nil, err
	}
	sel, err := Select(all, o.selector)
	if err != nil {
		return nil, err
	}
	for _, sc := range sel {
		if o.reps > 0 {
			sc.Reps = o.reps
		}
		if o.duration > 0 {
			sc.Duration = Duration(o.duration)
		}
		if o.warmup >= 0 {
			sc.Warmup = Duration(o.warmup)
		}
	}
	return sel, nil
}

func (o *commonOptions) workDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "sluice-suite-")
	if err != nil {
		return "", nil, fmt.Errorf("suite: work dir: %w", err)
	}
	dir, _ = filepath.Abs(dir)
	if o.keep {
		return dir, func() { fmt.Fprintf(os.Stderr, "work directory kept: %s\n", dir) }, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// prepareMachine raises the file limit and moves the suite to the load CPU.
func (o *commonOptions) prepareMachine() error {
	if o.proxyCPU == o.loadCPU {
		return fmt.Errorf("suite: -proxy-cpu and -load-cpu must differ")
	}
	if err := raiseFileLimit(); err != nil {
		return err
	}
	return pinSelf(o.loadCPU)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	var o commonOptions
	o.register(fs, "")
	haproxy := fs.Bool("haproxy", false, "measure haproxy too")
	tags := fs.String("tags", "", "go build -tags for sluice")
	history := fs.String("history", defaultHistory, "history file to append to")
	record := fs.Bool("record", true, "append the results to -history and regenerate -md and -plot")
	md := fs.String("md", defaultMarkdown, "markdown file whose generated blocks to refresh (empty: none)")
	plotOut := fs.String("plot", defaultPlot, "history picture to redraw, without extension (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("suite: run takes no arguments (got %v)", fs.Args())
	}
	scenarios, err := o.scenarios()
	if err != nil {
		return err
	}
	return runSuite(ctx, runOptions{common: o, haproxy: *haproxy, tags: *tags, history: *history, record: *record,
		markdown: *md, plot: *plotOut}, scenarios, stdout, stderr)
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("compare", stderr)
	o := compareOptions{gate: DefaultGate()}
	o.common.register(fs, "@compare")
	fs.StringVar(&o.baseTags, "tags-base", "", "go build -tags for the first revision")
	fs.StringVar(&o.newTags, "tags-new", "", "go build -tags for the second revision (sluice_slowdown: a 1 µs spin per request)")
	fs.Float64Var(&o.gate.Alpha, "alpha", o.gate.Alpha, "significance level of the tests")
	gate := fs.String("gate", "cpu_us=3,rps=3", "metric=percent: a significant change worse than this fails")
	fs.BoolVar(&o.baselines, "baselines", false, "measure the scenarios' direct and nginx targets too")
	fs.StringVar(&o.jsonOut, "json", "", "write the report as JSON to this file")
	fs.StringVar(&o.goBench.pattern, "gobench", "", "also run Go benchmarks matching this -bench pattern")
	pkgs := fs.String("gopkgs", "./http1,./trie", "packages for -gobench")
	fs.IntVar(&o.goBench.count, "gocount", 6, "runs of the Go benchmarks per side")
	fs.StringVar(&o.goBench.benchtime, "gobenchtime", "", "-benchtime for the Go benchmarks")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if fs.NArg() != 2 {
		return 0, fmt.Errorf("suite: compare wants two revisions (got %v)", fs.Args())
	}
	if o.common.reps == 0 {
		o.common.reps = 8 // the signed-rank test needs 6 pairs to reach 0.05 at all; 8 give it some power
	}
	th, err := parseGate(*gate)
	if err != nil {
		return 0, err
	}
	o.gate.Threshold = th
	for _, p := range strings.Split(*pkgs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.goBench.packages = append(o.goBench.packages, p)
		}
	}
	report, err := runCompare(ctx, o, fs.Arg(0), fs.Arg(1), stdout, stderr)
	if err != nil {
		return 0, err
	}
	for _, rec := range report.Records {
		if rec.Status == StatusFailed {
			return 0, fmt.Errorf("suite: scenario %s failed, so the comparison is incomplete: %s", rec.Scenario, rec.Detail)
		}
	}
	if report.Regressions() > 0 {
		return exitRegression, nil
	}
	return 0, nil
}

func cmdMarkdown(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("md", stderr)
	history := fs.String("history", defaultHistory, "history file")
	file := fs.String("file", defaultMarkdown, "markdown file to regenerate in place")
	check := fs.Bool("check", false, "only check: exit 2 if the file is out of date")
	if err := fs.Parse(args); err != nil {
		return err
	}
	changed, err := regenerateFile(*file, *history, *check)
	if err != nil {
		return err
	}
	if *check && changed {
		return fmt.Errorf("suite: %s is out of date; run go run ./bench/suite md", *file)
	}
	if changed {
		fmt.Fprintf(stdout, "%s regenerated\n", *file)
	}
	return nil
}

// regenerateFile refreshes the generated blocks of a markdown file;
// changed says whether they differed.
func regenerateFile(file, historyPath string, dryRun bool) (changed bool, err error) {
	doc, err := os.ReadFile(file)
	if err != nil {
		return false, fmt.Errorf("suite: reading %s: %w", file, err)
	}
	history, err := LoadHistory(historyPath)
	if err != nil {
		return false, err
	}
	out, err := RegenerateMarkdown(doc, history, historyPath)
	if err != nil {
		return false, err
	}
	if string(out) == string(doc) {
		return false, nil
	}
	if dryRun {
		return true, nil
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		return false, fmt.Errorf("suite: writing %s: %w", file, err)
	}
	return true, nil
}

func cmdPlot(args []string, stderr io.Writer) error {
	fs := newFlagSet("plot", stderr)
	history := fs.String("history", defaultHistory, "history file")
	out := fs.String("out", defaultPlot, "output path without extension (.png and .svg are written)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	recs, err := LoadHistory(*history)
	if err != nil {
		return err
	}
	if err := WritePlots(recs, *out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s.png and %s.svg\n", *out, *out)
	return nil
}

func cmdList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", stderr)
	var o commonOptions
	o.register(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scenarios, err := o.scenarios()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\ttags\tneeds\tconns\truns\ttargets\tdescription")
	for _, s := range scenarios {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d × %v\t%s\t%s\n", s.Name, strings.Join(s.Tags, ","), strings.Join(s.Needs, ","),
			s.Connections, s.Reps, time.Duration(s.Duration), strings.Join(s.Targets, ","), s.Description)
	}
	return tw.Flush()
}
