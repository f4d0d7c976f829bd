package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// runOpts is what both sources load and how sluice runs.
type runOpts struct {
	routes  int
	inline  bool     // each route has an inline upstream (all identical) rather than upstream_id
	env     []string // extra environment for sluice (GOGC, GOMEMLIMIT)
	cpus    string   // taskset -c for sluice
	profile string   // sluice's -cpuprofile, if any
}

// runArgs is sluice's command line with config file cfg and extra flags.
func (o runOpts) runArgs(cfg string, extra ...string) []string {
	args := append([]string{"run", "-c", cfg}, extra...)
	if o.profile != "" {
		args = append(args, "-cpuprofile", o.profile)
	}
	return args
}

// stop ends sluice: killed, or, when it writes a profile, asked to stop
// so that it finishes the file.
func (o runOpts) stop(gw *exec.Cmd) {
	if o.profile == "" || gw.Process == nil {
		stop(gw)
		return
	}
	_ = gw.Process.Signal(syscall.SIGTERM)
	_ = gw.Wait()
}

func (o runOpts) String() string {
	s := "upstream_id"
	if o.inline {
		s = "inline upstreams"
	}
	if len(o.env) > 0 {
		s += ", " + strings.Join(o.env, " ")
	}
	return s + ", sluice on CPU " + o.cpus
}

func goEnv(gogc, limit, godebug, procs string) []string {
	var env []string
	if procs != "" {
		env = append(env, "GOMAXPROCS="+procs)
	}
	if godebug != "" {
		env = append(env, "GODEBUG="+godebug)
	}
	if gogc != "" {
		env = append(env, "GOGC="+gogc)
	}
	if limit != "" {
		env = append(env, "GOMEMLIMIT="+limit)
	}
	return env
}

// routeJSON is route i as the Admin API would store it: an exact path
// /svc<i%100>/api/v1/res<i>, GET, upstream "a" by id or an inline upstream
// to upA.
func routeJSON(i int, o runOpts, upA string) string {
	up := `"upstream_id": "a"`
	if o.inline {
		up = fmt.Sprintf(`"upstream": {"nodes": {%q: 1}, "type": "roundrobin"}`, upA)
	}
	return fmt.Sprintf(`{"id": "%d", "uri": "/svc%d/api/v1/res%d", "methods": ["GET"], %s, "priority": 0, "status": 1}`, i, i%100, i, up)
}

// txnOps is how many routes one etcd transaction writes (etcd runs with
// --max-txn-ops set to it).
const txnOps = 2048

// loadRoutes writes the routes and upstream "a" straight into etcd, many to
// a transaction, from a few goroutines (1M routes in well under a minute).
func loadRoutes(cli *clientv3.Client, o runOpts, upA string) {
	ctx := context.Background()
	_, err := cli.Put(ctx, "/apisix/upstreams/a", fmt.Sprintf(`{"id": "a", "nodes": {%q: 1}, "type": "roundrobin"}`, upA))
	check(err)
	batches := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ops := make([]clientv3.Op, 0, txnOps)
			for first := range batches {
				ops = ops[:0]
				for i := first; i < min(first+txnOps, o.routes); i++ {
					ops = append(ops, clientv3.OpPut("/apisix/routes/"+strconv.Itoa(i), routeJSON(i, o, upA)))
				}
				_, err := cli.Txn(ctx).Then(ops...).Commit()
				check(err)
			}
		})
	}
	for first := 0; first < o.routes; first += txnOps {
		batches <- first
	}
	close(batches)
	wg.Wait()
}

// mem is a process's resident memory, from /proc/PID/status.
type mem struct {
	rssKiB, peakKiB int64 // VmRSS, VmHWM
}

func memOf(pid int) mem {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return mem{}
	}
	defer f.Close()
	var m mem
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			m.rssKiB = n
		case "VmHWM":
			m.peakKiB = n
		}
	}
	return m
}

func (m mem) rssMiB() float64  { return float64(m.rssKiB) / 1024 }
func (m mem) peakMiB() float64 { return float64(m.peakKiB) / 1024 }

func (m mem) String() string {
	return fmt.Sprintf("RSS %.0f MiB (peak %.0f MiB)", m.rssMiB(), m.peakMiB())
}

// settle waits until process pid uses less than a tenth of a CPU over a
// second (at most a minute) and returns how long that took.
func settle(pid int) time.Duration {
	start := time.Now()
	prev := cpuTicks(pid)
	for time.Since(start) < time.Minute {
		time.Sleep(time.Second)
		cur := cpuTicks(pid)
		if cur-prev < 10 { // clock ticks are 1/100 s
			break
		}
		prev = cur
	}
	return time.Since(start)
}

// cpuTicks is pid's user+system time in clock ticks (/proc/PID/stat).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ") // the command may hold spaces
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}
