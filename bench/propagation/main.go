package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

const adminKey = "edd1c9f034335f136f87ad84b625c8f1"

func main() {
	routes := flag.Int("routes", 100_000, "routes loaded before measuring")
	changes := flag.Int("changes", 300, "Admin API writes to time (half creations, half upstream moves)")
	upChanges := flag.Int("upstream-changes", 20, "Admin API writes of upstream a's nodes to time (its routes follow it)")
	loadConns := flag.Int("load", 8, "connections of steady background traffic")
	loadRate := flag.Int("load-rate", 0, "background requests per second over all -load connections (0: each as fast as it can, which keeps CPU 1 busy)")
	out := flag.String("out", "bench/results", "directory for the JSON result")
	source := flag.String("source", "etcd", "where sluice reads the routes: etcd, or yaml (a standalone apisix.yaml)")
	inline := flag.Bool("inline-upstreams", false, "give every route its own (identical) inline upstream instead of upstream_id")
	gogc := flag.String("gogc", "", "GOGC for sluice (empty: the runtime's default)")
	memLimit := flag.String("gomemlimit", "", "GOMEMLIMIT for sluice (empty: none)")
	cpus := flag.String("sluice-cpus", "0", "CPUs sluice is pinned to (taskset -c); etcd and this tool use CPU 1")
	logLevel := flag.String("sluice-log-level", "info", "sluice's -log-level (debug logs how long each change took to apply)")
	godebug := flag.String("sluice-godebug", "", "GODEBUG for sluice alone (gctrace=1 interleaves its collections with its log)")
	procs := flag.String("sluice-gomaxprocs", "", "GOMAXPROCS for sluice (empty: the runtime's default, one per CPU of -sluice-cpus); sluice runs one event loop either way")
	profile := flag.String("sluice-cpuprofile", "", "write a CPU profile of sluice's whole run to this file (sluice is then stopped with SIGTERM, so it can finish the file)")
	flag.Parse()
	opts := runOpts{routes: *routes, inline: *inline, env: goEnv(*gogc, *memLimit, *godebug, *procs), cpus: *cpus, profile: *profile}

	work, err := os.MkdirTemp("", "sluice-propagation")
	check(err)
	defer os.RemoveAll(work)
	sluiceBin, etcdBin := filepath.Join(work, "sluice"), filepath.Join(work, "etcd")
	say("building sluice and etcd...")
	run("go", "build", "-o", sluiceBin, "./cmd/sluice")
	run("go", "build", "-o", etcdBin, "go.etcd.io/etcd/server/v3")
	// This process (upstreams, load, polling) and etcd share CPU 1; sluice
	// gets CPU 0 to itself.
	run("taskset", "-a", "-p", "-c", "1", strconv.Itoa(os.Getpid()))
	if *source == "yaml" {
		runYAML(work, sluiceBin, opts, *out)
		return
	}

	etcdURL := "http://127.0.0.1:" + freePort()
	peerURL := "http://127.0.0.1:" + freePort()
	etcd := start("etcd", "1", etcdBin, "--name", "bench", "--data-dir", filepath.Join(work, "etcd-data"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "bench="+peerURL, "--log-level", "error", "--quota-backend-bytes", strconv.Itoa(8<<30),
		// Routes are written many to a transaction (loadRoutes).
		"--max-txn-ops", strconv.Itoa(txnOps), "--max-request-bytes", strconv.Itoa(8<<20))
	defer stop(etcd)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	check(err)
	defer cli.Close()
	waitFor("etcd", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := cli.Get(ctx, "x")
		return err == nil
	})

	upA, upB := upstream("A"), upstream("B")
	say("writing %d routes to etcd...", *routes)
	wrote := time.Now()
	loadRoutes(cli, opts, upA)
	say("  written in %v", time.Since(wrote).Round(time.Millisecond))

	// sluice, on CPU 0.
	proxyPort, adminPort, controlPort := freePort(), freePort(), freePort()
	cfg := fmt.Sprintf(`apisix:
  node_listen: [{ip: 127.0.0.1, port: %s}]
  control: {ip: 127.0.0.1, port: %s}
deployment:
  role: traditional
  admin:
    admin_key: [{name: admin, key: %s, role: admin}]
    admin_listen: {ip: 127.0.0.1, port: %s}
  etcd:
    host: [%q]
plugin_attr:
  prometheus: {enable_export_server: false}
sluice:
  loops: 1
  startup_timeout: 600s
`, proxyPort, controlPort, adminKey, adminPort, etcdURL)
	cfgPath := filepath.Join(work, "config.yaml")
	check(os.WriteFile(cfgPath, []byte(cfg), 0o644))
	sluiceLog := &logBuffer{}
	started := time.Now()
	gw := start("sluice", opts.cpus, sluiceBin, opts.runArgs(cfgPath, "-log-level", *logLevel)...)
	gw.Stderr = sluiceLog
	gw.Env = append(os.Environ(), opts.env...)
	check(gw.Start())
	defer opts.stop(gw)
	proxy, admin := "http://127.0.0.1:"+proxyPort, "http://127.0.0.1:"+adminPort
	waitFor("sluice ready", func() bool { return get("http://127.0.0.1:"+controlPort+"/status/ready") == 200 })
	ready := time.Since(started)
	memReady := memOf(gw.Process.Pid)
	cpuReady := float64(cpuTicks(gw.Process.Pid)) / 100
	fetch, total := loadTimes(sluiceLog.String())
	say("initial load of %d routes: ready after %v, %.1f s of sluice CPU (sluice: fetch+decode %s, total %s); %s",
		*routes, ready.Round(time.Millisecond), cpuReady, fetch, total, memReady)
	mid := *routes / 2
	if body, code := getBody(http.DefaultClient, proxy+fmt.Sprintf("/svc%d/api/v1/res%d", mid%100, mid)); code != 200 {
		fatalf("a loaded route answers %d, not 200: %q", code, body)
	}

	// A large load ends with sluice collecting its garbage (seconds of
	// CPU for 1M routes): wait for that to finish, so the traffic windows
	// below compare changes with no changes, not with the tail of the load.
	settled := settle(gw.Process.Pid)
	memSettled := memOf(gw.Process.Pid)
	say("settled %v after ready; %s", settled.Round(time.Millisecond), memSettled)

	// Background traffic on a loaded route, for the whole run.
	lat := &latencies{}
	stopLoad := startLoad(proxy+"/svc3/api/v1/res3", *loadConns, *loadRate, lat)
	time.Sleep(2 * time.Second) // warm up
	lat.reset()
	time.Sleep(5 * time.Second)
	quiet := lat.reset()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var created, moved []time.Duration
	for i := range *changes {
		path := fmt.Sprintf("/prop/%d", i)
		if i%2 == 0 {
			body := fmt.Sprintf(`{"uri": %q, "upstream_id": "a"}`, path)
			created = append(created, propagate(client, admin+"/apisix/admin/routes/prop-"+strconv.Itoa(i), body, proxy+path, "A"))
		} else {
			// Move an existing loaded route to the other upstream.
			id := strconv.Itoa(i * 7919 % *routes)
			svc := i * 7919 % *routes % 100
			body := fmt.Sprintf(`{"uri": "/svc%d/api/v1/res%s", "methods": ["GET"], "upstream": {"nodes": {%q: 1}}}`, svc, id, upB)
			moved = append(moved, propagate(client, admin+"/apisix/admin/routes/"+id, body, proxy+fmt.Sprintf("/svc%d/api/v1/res%s", svc, id), "B"))
		}
	}
	// Upstream a's node swapped between A and B: every route naming it
	// by id follows (all the loaded ones unless -inline-upstreams, and
	// /prop/0, created above, which is the one polled).
	var upMoved []time.Duration
	for i := range *upChanges {
		if *changes == 0 {
			break
		}
		node, want := upB, "B"
		if i%2 == 1 {
			node, want = upA, "A"
		}
		body := fmt.Sprintf(`{"nodes": {%q: 1}, "type": "roundrobin"}`, node)
		upMoved = append(upMoved, propagate(client, admin+"/apisix/admin/upstreams/a", body, proxy+"/prop/0", want))
	}
	busy := lat.reset()
	stopLoad()
	applied := applyTimes(sluiceLog.String())
	memAfter := memOf(gw.Process.Pid)
	say("after the changes: %s", memAfter)

	res := result{
		Machine:           machine(),
		Routes:            *routes,
		Source:            "etcd",
		Settings:          opts.String() + loadSetting(*loadConns, *loadRate),
		ReadyMs:           ms(ready),
		ReadyCPUSeconds:   cpuReady,
		RSSReadyMiB:       memReady.rssMiB(),
		RSSSettledMiB:     memSettled.rssMiB(),
		PeakRSSMiB:        memAfter.peakMiB(),
		RSSAfterMiB:       memAfter.rssMiB(),
		SluiceFetch:       fetch,
		SluiceTotal:       total,
		CreateP50Ms:       ms(pct(created, 50)),
		CreateP99Ms:       ms(pct(created, 99)),
		CreateMaxMs:       ms(pct(created, 100)),
		MoveP50Ms:         ms(pct(moved, 50)),
		MoveP99Ms:         ms(pct(moved, 99)),
		MoveMaxMs:         ms(pct(moved, 100)),
		AllP99Ms:          ms(pct(append(created, moved...), 99)),
		UpstreamP50Ms:     ms(pct(upMoved, 50)),
		UpstreamP99Ms:     ms(pct(upMoved, 99)),
		UpstreamMaxMs:     ms(pct(upMoved, 100)),
		ApplyP50Ms:        ms(pct(applied, 50)),
		ApplyP99Ms:        ms(pct(applied, 99)),
		TrafficQuiet:      summary(quiet),
		TrafficDuringWork: summary(busy),
	}
	say("propagation (write acknowledged -> first request served), %d writes with %d routes loaded:", *changes, *routes)
	say("  new route:      p50 %.2f ms  p99 %.2f ms  max %.2f ms", res.CreateP50Ms, res.CreateP99Ms, res.CreateMaxMs)
	say("  route moved:    p50 %.2f ms  p99 %.2f ms  max %.2f ms", res.MoveP50Ms, res.MoveP99Ms, res.MoveMaxMs)
	if len(upMoved) > 0 {
		say("  upstream moved (%d writes; %s): p50 %.2f ms  p99 %.2f ms  max %.2f ms", len(upMoved), upUsers(opts),
			res.UpstreamP50Ms, res.UpstreamP99Ms, res.UpstreamMaxMs)
	}
	if len(applied) > 0 {
		say("  of which sluice applying the change (-sluice-log-level debug): p50 %.3f ms  p99 %.3f ms", res.ApplyP50Ms, res.ApplyP99Ms)
	}
	say("background traffic (%s) on another route:", loadSetting(*loadConns, *loadRate)[2:])
	say("  no changes:     %s", res.TrafficQuiet)
	say("  during changes: %s", res.TrafficDuringWork)
	writeResult(*out, res)
}

func writeResult(dir string, res result) {
	check(os.MkdirAll(dir, 0o755))
	name := filepath.Join(dir, "propagation-"+time.Now().UTC().Format("20060102T150405Z")+".json")
	b, _ := json.MarshalIndent(res, "", "  ")
	check(os.WriteFile(name, append(b, '\n'), 0o644))
	say("wrote %s", name)
}

type result struct {
	Machine           string  `json:"machine"`
	Routes            int     `json:"routes"`
	Source            string  `json:"source"`
	Settings          string  `json:"settings,omitempty"`
	ReadyMs           float64 `json:"initial_load_ready_ms"`
	ReadyCPUSeconds   float64 `json:"initial_load_sluice_cpu_s,omitempty"`
	ApplyP50Ms        float64 `json:"apply_p50_ms,omitempty"`
	ApplyP99Ms        float64 `json:"apply_p99_ms,omitempty"`
	RSSReadyMiB       float64 `json:"rss_ready_mib"`
	RSSSettledMiB     float64 `json:"rss_settled_mib,omitempty"`
	PeakRSSMiB        float64 `json:"peak_rss_mib"`
	RSSAfterMiB       float64 `json:"rss_after_changes_mib"`
	SluiceFetch       string  `json:"sluice_fetch"`
	SluiceTotal       string  `json:"sluice_total"`
	ReloadMs          float64 `json:"yaml_reload_ms,omitempty"`
	CreateP50Ms       float64 `json:"create_p50_ms,omitempty"`
	CreateP99Ms       float64 `json:"create_p99_ms,omitempty"`
	CreateMaxMs       float64 `json:"create_max_ms,omitempty"`
	MoveP50Ms         float64 `json:"move_p50_ms,omitempty"`
	MoveP99Ms         float64 `json:"move_p99_ms,omitempty"`
	MoveMaxMs         float64 `json:"move_max_ms,omitempty"`
	AllP99Ms          float64 `json:"all_p99_ms,omitempty"`
	UpstreamP50Ms     float64 `json:"upstream_p50_ms,omitempty"`
	UpstreamP99Ms     float64 `json:"upstream_p99_ms,omitempty"`
	UpstreamMaxMs     float64 `json:"upstream_max_ms,omitempty"`
	TrafficQuiet      string  `json:"traffic_no_changes,omitempty"`
	TrafficDuringWork string  `json:"traffic_during_changes,omitempty"`
}

// upUsers says how many routes name upstream a.
func upUsers(o runOpts) string {
	if o.inline {
		return "a few routes on it"
	}
	return fmt.Sprintf("%d routes on it", o.routes)
}

// propagate writes body to url (PUT) and polls probe until its body names
// want; it returns acknowledgement → first such response.
func propagate(c *http.Client, url, body, probe, want string) time.Duration {
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	req.Header.Set("X-API-KEY", adminKey)
	resp, err := c.Do(req)
	check(err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		fatalf("PUT %s: %d %s", url, resp.StatusCode, b)
	}
	acked := time.Now()
	for {
		resp, err := c.Get(probe)
		check(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && bytes.HasPrefix(b, []byte(want)) {
			return time.Since(acked)
		}
		if time.Since(acked) > 10*time.Second {
			fatalf("%s never served the change: %d %s", probe, resp.StatusCode, b)
		}
	}
}

var appliedRe = regexp.MustCompile(`configuration changed.* took=(\S+)`)

// applyTimes reads how long sluice took to apply each change, from its
// debug log.
func applyTimes(logText string) []time.Duration {
	var out []time.Duration
	for _, m := range appliedRe.FindAllStringSubmatch(logText, -1) {
		if d, err := time.ParseDuration(m[1]); err == nil {
			out = append(out, d)
		}
	}
	return out
}

var loadedRe = regexp.MustCompile(`configuration loaded from etcd.* fetch\+decode=(\S+) total=(\S+)`)

func loadTimes(logText string) (fetch, total string) {
	m := loadedRe.FindStringSubmatch(logText)
	if m == nil {
		return "?", "?"
	}
	return m[1], m[2]
}

// latencies collects request latencies; reset returns and clears them.
type latencies struct {
	mu sync.Mutex // guards d
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) reset() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.d
	l.d = nil
	return d
}

// startLoad sends requests to url on conns connections until stopped:
// each as fast as it can (closed loop) when rate is 0, or spaced so the
// connections together send rate requests per second. A closed loop keeps
// CPU 1, which this tool shares with etcd and the upstreams, busy, so a
// probe's round trip there includes waiting its turn; a set rate measures
// a change propagating under traffic without that.
func startLoad(url string, conns, rate int, lat *latencies) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	var gap time.Duration
	if rate > 0 {
		gap = time.Duration(float64(conns) * float64(time.Second) / float64(rate))
	}
	for i := range conns {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			next := time.Now().Add(gap * time.Duration(i) / time.Duration(conns)) // staggered
			for !done.Load() {
				if gap > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(gap)
				}
				t := time.Now()
				resp, err := c.Get(url)
				if err != nil {
					fatalf("background request: %v", err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fatalf("background request answered %d", resp.StatusCode)
				}
				lat.add(time.Since(t))
			}
		})
	}
	return func() { done.Store(true); wg.Wait() }
}

// loadSetting describes the background traffic, for the result's settings.
func loadSetting(conns, rate int) string {
	if rate > 0 {
		return fmt.Sprintf(", load %d conns at %d req/s", conns, rate)
	}
	return fmt.Sprintf(", load %d conns closed loop", conns)
}

func summary(d []time.Duration) string {
	return fmt.Sprintf("%d requests, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms",
		len(d), ms(pct(d, 50)), ms(pct(d, 99)), ms(pct(d, 99.9)), ms(pct(d, 100)))
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// upstream answers every request with its name; it runs in this process
// (CPU 1).
func upstream(name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
	}()
	return ln.Addr().String()
}

// children are the processes fatalf must not leave behind.
var children []*exec.Cmd

// start prepares bin pinned to cpu; etcd is started at once, sluice by the
// caller once its stderr is wired.
func start(name, cpu, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command("taskset", append([]string{"-c", cpu, bin}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	children = append(children, cmd)
	if name == "etcd" {
		check(cmd.Start())
	}
	return cmd
}

func fatalf(format string, args ...any) {
	for _, c := range children {
		stop(c)
	}
	say(format, args...)
	os.Exit(1)
}

// say prints one line of the report to stderr.
func say(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func stop(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	check(cmd.Run())
}

func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(what string, cond func() bool) {
	deadline := time.Now().Add(10 * time.Minute) // 1M routes on a busy machine
	for !cond() {
		if time.Now().After(deadline) {
			fatalf("%s: timed out", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func machine() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown"
}

// logBuffer keeps sluice's log and echoes it.
type logBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = os.Stderr.Write(p)
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}
