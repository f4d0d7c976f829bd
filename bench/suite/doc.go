// Command suite is sluice's benchmark runner and regression tracker: wrk
// scenarios written as data, sluice measured against the same origin
// directly, through nginx (and haproxy) on the same pinned CPU, results kept
// as a history that BENCHMARKS.md's tables and a plot are generated from,
// and two commits compared in one run with a verdict a CI job can gate on.
//
//	go run ./bench/suite run                      # all scenarios, recorded
//	go run ./bench/suite compare HEAD~1 HEAD      # exit 1 on a regression
//	go run ./bench/suite md                       # BENCHMARKS.md from the history
//	go run ./bench/suite plot                     # benchmarks-history.{png,svg}
//	go run ./bench/suite run -s lua-hook -profile prof -record=false
//	go tool pprof -top prof/lua-hook.prof         # where sluice's CPU went
//
// # Scenarios
//
// bench/scenarios/*.yaml (Scenario; README.md there lists the fields): the
// apisix.yaml sluice loads (routes, plugins, consumers in APISIX's format,
// with generated filler routes for 100K-route tables), what wrk sends (path,
// headers, connections, an optional Lua script), for how long, and the
// services the runner starts for it (services: [redis] runs a redis-server
// on the load CPU for the scenario, its address filled into apisix.yaml as
// ${REDIS_HOST} and ${REDIS_PORT}). A sweep expands into one scenario per
// connection count. A sluice that refuses a
// scenario's config (validate fails, it exits, or the probe request does
// not get a 2xx, as a route with an unknown plugin answers 503) makes that
// scenario "skipped: config refused"; the run goes on.
//
// # A run
//
// The origin (nginx: "hello world\n", files under /bytes/, stub_status for
// its accepted-connection counter), wrk and the suite itself share the load
// CPU; the proxy under test, nginx and haproxy baselines and every sluice
// build run on the proxy CPU, each started once per session (sluice once per
// scenario). Each scenario runs every target Reps times, rotating which goes
// first (A B, B A, …) so drift on a shared machine hits all alike; each timed
// run follows its own warm-up. Per run: req/s and latency percentiles from
// wrk (a Lua done() prints exact figures), the proxy's CPU time per request
// from /proc/PID/stat (nginx: its worker), RSS and peak RSS from
// /proc/PID/status, and upstream connects per second from the origin's
// accepts counter. Tables show medians with min–max and ratios to each
// baseline. The plugin targets are stated against sluice's bare data path,
// so a run that selects no-plugin and scenarios tagged plugins measures
// no-plugin first and gives each plugin scenario's sluice req/s as a
// fraction of no-plugin's in the same run (Record.RPSToNoPlugin; the
// "req/s ÷ no-plugin" column).
//
// # CPU profiles
//
// run -profile DIR (and compare -profile DIR) starts every sluice with its
// -cpuprofile flag and leaves DIR/<scenario>.prof (compare:
// <scenario>-base.prof and <scenario>-new.prof), written when the runner
// stops sluice after the scenario, so a regression can be explained with
// go tool pprof. sluice profiles its whole life, which the runner limits to
// the scenario: the config load, the probe, the warm-ups (the same load as
// the timed runs) and the timed runs; loading shows up under its own
// functions. Profiling costs sluice some CPU, so those records say
// "sluice CPU-profiled" (Settings.CPUProfile).
//
// # History
//
// run appends one Record per scenario (commit, dates, machine, settings,
// every repetition of every target) as a JSON line to
// bench/results/history.jsonl, then regenerates the blocks of BENCHMARKS.md
// between <!-- suite:begin KIND ARGS --> and <!-- suite:end --> (summary,
// scenario NAME, sweep GROUP, history NAME [N]; see markdown.go) and redraws
// benchmarks-history.png/.svg beside it. Prose outside the blocks is kept.
//
// # compare
//
// compare REV1 REV2 checks both revisions out in temporary git worktrees
// ("." is the working tree as it is), builds each (optionally with -tags,
// e.g. -tags-new sluice_slowdown, which adds ~1 µs of work to every
// request), runs them interleaved on the selected scenarios (@compare by
// default; 8 repetitions, base and new back to back in each) and tests
// every metric on the repetitions' pairs with Wilcoxon's signed-rank test,
// which cancels load that drifts between repetitions on a shared machine.
// A change is a regression when it is significant (p < -alpha) and worse
// than the -gate threshold for a gated metric (CPU per request and req/s,
// 3% by default). The table is benchstat's layout: median ± spread per
// side, the change or "~". With -gobench, Go benchmarks of -gopkgs run at
// both revisions alternately (-gocount times); benchstat's own table joins
// the report, sec/op is gated with its U test
// (golang.org/x/perf/benchmath), and any rise in allocs/op is a
// regression. The exit code is 1 on a regression, 2 on an error.
//
// The suite needs Linux (/proc, taskset), wrk and nginx, and redis-server
// for scenarios that list it (installed with apt-get when missing and
// running as root); its tests need none of them.
package main
