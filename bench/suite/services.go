package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Services a scenario may ask the runner for. Each is started per scenario
// on the load CPU (with wrk and the origin: it is part of the load, not of
// the proxy under test), before the targets, and stopped after them, so no
// state carries over from one scenario to the next.
const (
	// serviceRedis is redis-server without persistence, for the Redis
	// policies of limit-count, limit-req and limit-conn.
	serviceRedis = "redis"
)

// servicePlaceholders are the ${NAME} texts each service fills in a
// scenario's apisix_yaml and sluice.config. A placeholder of a service the
// scenario does not list is an error: the config would reach sluice with
// the text in it.
var servicePlaceholders = map[string][]string{
	serviceRedis: {"REDIS_HOST", "REDIS_PORT"},
}

// placeholderOrigin is the origin's host:port; every scenario has it.
const placeholderOrigin = "ORIGIN"

// placeholderRE matches ${NAME} (NAME in upper case). APISIX's own
// environment references, ${{NAME}}, do not match.
var placeholderRE = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)\}`)

// expandPlaceholders replaces each ${NAME} of text that vars has.
func expandPlaceholders(text string, vars map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// placeholders lists the ${NAME} names text uses, in order of first use.
func placeholders(text string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// exampleVars stand in for the real addresses when a scenario is checked
// before anything runs (and in tests).
func exampleVars(services []string) map[string]string {
	vars := map[string]string{placeholderOrigin: "127.0.0.1:1"}
	if slices.Contains(services, serviceRedis) {
		vars["REDIS_HOST"], vars["REDIS_PORT"] = "127.0.0.1", "6379"
	}
	return vars
}

// startServices starts sc's services on the load CPU and returns them
// with the placeholder values they fill in. On error, those already
// started are stopped.
func (s *session) startServices(ctx context.Context, sc *Scenario) ([]*server, map[string]string, error) {
	vars := map[string]string{placeholderOrigin: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.origin.port))}
	var started []*server
	for _, name := range sc.Services {
		switch name {
		case serviceRedis:
			r, err := startRedis(ctx, s.cfg.Work, sc.Name, s.cfg.LoadCPU)
			if err != nil {
				for _, t := range started {
					t.stop()
				}
				return nil, nil, err
			}
			started = append(started, r)
			vars["REDIS_HOST"], vars["REDIS_PORT"] = "127.0.0.1", strconv.Itoa(r.port)
		default: // Validate refuses unknown names; this is a programming error
			return nil, nil, fmt.Errorf("suite: scenario %q: unknown service %q", sc.Name, name)
		}
	}
	return started, vars, nil
}

// startRedis starts redis-server on a free loopback port, pinned to cpu:
// no RDB snapshots and no append-only file (nothing the benchmark should
// wait on touches the disk), its working directory in the work dir.
func startRedis(ctx context.Context, work, scenario string, cpu int) (*server, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	name := "redis-" + scenario
	p, err := startPinned(name, cpu, filepath.Join(work, "logs"), "redis-server",
		"--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", filepath.Join(work, "tmp"), "--daemonize", "no")
	if err != nil {
		return nil, err
	}
	s := &server{name: name, proc: p, port: ports[0], version: toolVersion("redis-server")}
	if err := waitPort(ctx, p, ports[0], 10*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}
