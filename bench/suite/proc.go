package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a server the suite started (origin, nginx, haproxy, sluice),
// pinned to one CPU with taskset (which execs the program, so the pid is
// the program's own). Its output goes to a log file in the work directory.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid after done
}

// startPinned starts bin on cpu, with output to logDir/<name>.log.
func startPinned(name string, cpu int, logDir, bin string, args ...string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("suite: %s log: %w", name, err)
	}
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu), bin}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: a Ctrl-C on the terminal reaches the suite,
	// which stops its servers in order, rather than all of them at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("suite: starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM (graceful for sluice, fast for nginx and haproxy)
// and SIGKILL after grace; it returns once the process is gone.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // an error means it already exited
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill() // likewise
		<-p.done
	}
}

// tail returns the last lines of the process's log, for error messages.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitPort waits until 127.0.0.1:port accepts, failing early if p exits.
func waitPort(ctx context.Context, p *process, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if p != nil && p.exited() {
			status := p.err
			if status == nil {
				status = errors.New("exit status 0")
			}
			return fmt.Errorf("suite: %s exited before listening on %d: %w:\n%s", p.name, port, status, p.tail(10))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("suite: %s: port %d not open after %v", p.name, port, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePorts returns n ports that were free a moment ago. Fixed ports would
// collide with other work on a shared machine.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("suite: finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture sluice runs on (sysconf(_SC_CLK_TCK)).
const clockTicks = 100

// cpuSeconds is the CPU time (user + system, all threads) pid has used,
// from /proc/PID/stat. Resolution: 1/clockTicks s.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("suite: reading CPU time: %w", err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime+stime from a /proc/PID/stat line. The command
// name (field 2) may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseStatCPU(b []byte) (float64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("suite: malformed /proc stat line")
	}
	f := strings.Fields(string(b[i+1:]))
	// After ')': state(3) ppid(4) … utime(14) stime(15), so index 11 and 12.
	if len(f) < 13 {
		return 0, errors.New("suite: short /proc stat line")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("suite: /proc stat times: %w", err)
	}
	return float64(u+s) / clockTicks, nil
}

// cpuTimes is one CPU's line of /proc/stat, in clock ticks: how long it was
// busy (everything but idle and iowait) out of all.
type cpuTimes struct{ busy, total uint64 }

// busyShare is the fraction of the time between a and b that the CPU was
// busy.
func (a cpuTimes) busyShare(b cpuTimes) float64 {
	if b.total <= a.total {
		return 0
	}
	return float64(b.busy-a.busy) / float64(b.total-a.total)
}

// readCPUTimes reads CPU cpu's line of /proc/stat.
func readCPUTimes(cpu int) (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, fmt.Errorf("suite: reading /proc/stat: %w", err)
	}
	return parseCPUTimes(b, cpu)
}

// parseCPUTimes finds "cpuN user nice system idle iowait irq softirq steal
// ..." in a /proc/stat and sums it.
func parseCPUTimes(b []byte, cpu int) (cpuTimes, error) {
	name := "cpu" + strconv.Itoa(cpu)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != name {
			continue
		}
		var t cpuTimes
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return cpuTimes{}, fmt.Errorf("suite: /proc/stat %s: %w", name, err)
			}
			if i >= 8 { // guest and guest_nice are already counted in user and nice
				break
			}
			t.total += n
			if i != 3 && i != 4 { // idle, iowait
				t.busy += n
			}
		}
		return t, nil
	}
	return cpuTimes{}, fmt.Errorf("suite: /proc/stat has no %s", name)
}

// memory returns VmRSS and VmHWM (peak RSS) of pid in MiB.
func memory(pid int) (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("suite: reading memory: %w", err)
	}
	return parseStatusMemory(b)
}

func parseStatusMemory(b []byte) (rss, peak float64, err error) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("suite: %s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("suite: no VmRSS in /proc status")
	}
	return rss, peak, nil
}

// childPid returns the first child of pid (nginx's worker under its
// master), waiting up to timeout for it to appear.
func childPid(pid int, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if err != nil {
			return 0, fmt.Errorf("suite: children of %d: %w", pid, err)
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			return strconv.Atoi(f[0])
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("suite: process %d started no child", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pinSelf moves every thread of this process to cpu, so the suite's own
// work (polling, HTTP probes) stays off the proxy's CPU.
func pinSelf(cpu int) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(cpu), strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("suite: pinning the suite to CPU %d: %w: %s", cpu, err, out)
	}
	return nil
}

// raiseFileLimit lifts RLIMIT_NOFILE to its hard limit: wrk, nginx and
// sluice inherit it, and 5,000 connections need more than the usual 1,024.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("suite: reading the file limit: %w", err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("suite: raising the file limit: %w", err)
	}
	return nil
}
