package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a running target or origin: where it listens and which pid's
// CPU time and memory count as its own.
type server struct {
	name    string
	proc    *process
	port    int
	cpuPid  int    // 0: not measured (the direct target)
	version string // for the record: "nginx 1.22.1", a sluice commit
}

func (s *server) stop() {
	if s != nil {
		s.proc.stop(10 * time.Second)
	}
}

// originConf is the origin: nginx, one worker, "hello world\n" for every
// path, files of the sizes scenarios ask for under /bytes/ (sendfile: the
// origin shares its CPU with wrk, so it should be cheap), and stub_status
// on its own port (its "accepts" counter is how upstream connects are
// counted).
func originConf(work string, port, statusPort int) string {
	return fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/origin.pid;
error_log %[1]s/logs/origin.err warn;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
%[4]s
  server {
    listen 127.0.0.1:%[2]d reuseport backlog=4096;
    keepalive_requests 1000000;
    location / { return 200 "hello world\n"; }
    location ^~ /bytes/ { alias %[1]s/www/; }
  }
  server {
    listen 127.0.0.1:%[3]d;
    location = /status { stub_status; }
  }
}
`, work, port, statusPort, tempPaths(work, "origin"))
}

// nginxProxyConf is the nginx baseline, as bench/compare.sh had it:
// proxy_pass with upstream keepalive 320 / 1000 requests / 60 s (sluice's
// and APISIX's defaults), one worker, and worker_connections 16384 so 5,000
// clients (each with an upstream connection) are never refused. Responses
// larger than its buffers stream instead of spilling to temporary files
// (proxy_max_temp_file_size 0): sluice never writes bodies to disk, and disk
// writes would make the 1 MiB scenario measure the file system.
func nginxProxyConf(work string, port, origin int) string {
	return fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/proxy.pid;
error_log %[1]s/logs/proxy.err warn;
events { worker_connections 16384; }
http {
  access_log off;
%[4]s
  upstream origin { server 127.0.0.1:%[3]d; keepalive 320; keepalive_requests 1000; keepalive_timeout 60s; }
  server {
    listen 127.0.0.1:%[2]d reuseport backlog=4096;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
`, work, port, origin, tempPaths(work, "proxy"))
}

// tempPaths keeps nginx's temporary files in the work directory (the
// packaged defaults under /var/lib/nginx may not be writable).
func tempPaths(work, name string) string {
	var b strings.Builder
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/tmp/%s-%s;\n", k, work, name, k)
	}
	return b.String()
}

// haproxyConf is the optional haproxy baseline: one thread, HTTP mode with
// keep-alive on both sides and its default connection reuse. maxconn is
// bounded by the file limit (haproxy needs two descriptors per connection
// and refuses to start if it cannot have them).
func haproxyConf(port, origin, maxconn int) string {
	return fmt.Sprintf(`global
  nbthread 1
  maxconn %[3]d
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend bench
  bind 127.0.0.1:%[1]d
  maxconn %[3]d
  default_backend origin
backend origin
  server origin 127.0.0.1:%[2]d
`, port, origin, maxconn)
}

// startNginx writes conf as <name>.conf and starts nginx pinned to cpu;
// the worker is the measured process.
func startNginx(ctx context.Context, work, name, conf string, cpu, port int) (*server, error) {
	path := filepath.Join(work, name+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("suite: writing %s: %w", path, err)
	}
	p, err := startPinned(name, cpu, filepath.Join(work, "logs"), "nginx", "-c", path)
	if err != nil {
		return nil, err
	}
	s := &server{name: name, proc: p, port: port, version: toolVersion("nginx")}
	if err := waitPort(ctx, p, port, 10*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	if s.cpuPid, err = childPid(p.pid(), 5*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func startHAProxy(ctx context.Context, work string, cpu, port, origin int) (*server, error) {
	path := filepath.Join(work, "haproxy.cfg")
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("suite: reading the file limit: %w", err)
	}
	maxconn := min(20000, int(lim.Cur-100)/2)
	if err := os.WriteFile(path, []byte(haproxyConf(port, origin, maxconn)), 0o644); err != nil {
		return nil, fmt.Errorf("suite: writing %s: %w", path, err)
	}
	p, err := startPinned("haproxy", cpu, filepath.Join(work, "logs"), "haproxy", "-db", "-f", path)
	if err != nil {
		return nil, err
	}
	s := &server{name: targetHAProxy, proc: p, port: port, cpuPid: p.pid(), version: toolVersion("haproxy")}
	if err := waitPort(ctx, p, port, 10*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// originAccepts reads the origin's accepted-connection counter. The read
// itself is one connection; callers take differences, so it cancels out
// except for the one in the second reading (subtracted by the caller).
func originAccepts(statusPort int) (int64, error) {
	// A new connection per reading, so each reading counts exactly once.
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/status", statusPort))
	if err != nil {
		return 0, fmt.Errorf("suite: origin status: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("suite: origin status: %w", err)
	}
	return parseStubStatus(string(body))
}

// parseStubStatus returns "accepts" from nginx's stub_status page:
//
//	Active connections: 1
//	server accepts handled requests
//	 16 16 31
func parseStubStatus(s string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "server accepts") && sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 1 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("suite: no accepts counter in stub_status output %q", s)
}

// toolVersion returns "<tool> <version>" as the tool reports it, or "".
func toolVersion(tool string) string {
	out, _ := exec.Command(tool, "-v").CombinedOutput() // wrk -v exits 1
	line, _, _ := strings.Cut(string(out), "\n")
	switch tool {
	case "nginx": // nginx version: nginx/1.22.1
		if _, v, ok := strings.Cut(line, "nginx/"); ok {
			return "nginx " + strings.TrimSpace(v)
		}
	case "haproxy": // HAProxy version 2.6.12-1+deb12u4 2026/10/17 - …
		if f := strings.Fields(line); len(f) >= 3 {
			return "haproxy " + f[2]
		}
	case "redis-server": // Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 …
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "v="); ok {
				return "redis " + v
			}
		}
	case "wrk": // wrk debian/4.1.0-3+b2 [epoll] Copyright …
		if f := strings.Fields(line); len(f) >= 2 {
			return "wrk " + f[1]
		}
	}
	return ""
}

// neededTools maps the programs a run needs to their Debian packages: wrk,
// nginx, taskset, haproxy if wanted, and the services the scenarios list.
func neededTools(haproxy bool, scenarios []*Scenario) map[string]string {
	want := map[string]string{"wrk": "wrk", "nginx": "nginx-light", "taskset": "util-linux"}
	if haproxy {
		want["haproxy"] = "haproxy"
	}
	for _, sc := range scenarios {
		if slices.Contains(sc.Services, serviceRedis) {
			want["redis-server"] = "redis-server"
		}
	}
	return want
}

// ensureTools checks for the programs of want (see neededTools) and, if
// install is set and we are root, installs the missing ones with apt-get,
// as bench/compare.sh did.
func ensureTools(install bool, want map[string]string, log io.Writer) error {
	var missing []string
	for bin, pkg := range want {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	if !install || os.Geteuid() != 0 {
		return fmt.Errorf("suite: missing packages %v (install them, or run as root with -install)", missing)
	}
	fmt.Fprintf(log, "installing %v with apt-get...\n", missing)
	upd := exec.Command("apt-get", "update", "-qq")
	upd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := upd.CombinedOutput(); err != nil {
		return fmt.Errorf("suite: apt-get update: %w: %s", err, out)
	}
	inst := exec.Command("apt-get", append([]string{"install", "-y", "-qq"}, missing...)...)
	inst.Env = upd.Env
	if out, err := inst.CombinedOutput(); err != nil {
		return fmt.Errorf("suite: apt-get install: %w: %s", err, out)
	}
	return nil
}
