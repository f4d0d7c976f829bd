package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testport"
)

// redisProc is a redis-server process on a free loopback port, without
// persistence (redis-server --port N --save "", no AOF). scripts/test.sh installs
// redis-server when it is missing.
type redisProc struct {
	t    *testing.T
	port int
	addr string
	cmd  *exec.Cmd
	done chan error
	log  *syncBuffer
	args []string
}

func startRedis(t *testing.T, extra ...string) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: install it (apt-get install -y redis-server; scripts/test.sh does)")
	}
	port := testport.Port(t)
	r := &redisProc{t: t, port: port, addr: "127.0.0.1:" + strconv.Itoa(port), log: &syncBuffer{},
		args: append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir()}, extra...)}
	r.cmd = exec.Command(bin, r.args...)
	r.start()
	return r
}

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.cmd.Path, r.args...)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan error, 1)
	r.done = done
	go func() { done <- r.cmd.Wait() }()
	r.t.Cleanup(r.stop)
	waitUntil(r.t, "redis answers PING on "+r.addr, func() bool {
		reply, err := r.tryDo("PING")
		return err == nil && reply == "PONG"
	})
}

// stop kills the server and waits for it (Redis down).
func (r *redisProc) stop() {
	select {
	case err := <-r.done:
		r.done <- err
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	err := <-r.done
	r.done <- err
}

// do sends one command and returns the reply as text (a simple RESP
// client: enough for the tests' PING, GET, FLUSHALL, CLUSTER ...).
func (r *redisProc) do(args ...string) string {
	r.t.Helper()
	reply, err := r.tryDo(args...)
	if err != nil {
		r.t.Fatalf("redis %v: %v\n%s", args, err, r.log.String())
	}
	return reply
}

func (r *redisProc) tryDo(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", r.addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

func readReply(rd *bufio.Reader) (string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "(nil)", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		var parts []string
		for range n {
			p, err := readReply(rd)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, " "), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// startRedisCluster runs a Redis Cluster of n masters (no replicas) on
// loopback: each node cluster-enabled, the slots split between them, the
// nodes introduced with CLUSTER MEET, and ready once every node reports
// cluster_state:ok.
func startRedisCluster(t *testing.T, n int) []*redisProc {
	t.Helper()
	nodes := make([]*redisProc, n)
	for i := range nodes {
		nodes[i] = startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000")
	}
	per := 16384 / n
	for i, node := range nodes {
		lo, hi := i*per, (i+1)*per-1
		if i == n-1 {
			hi = 16383
		}
		node.do("CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi))
	}
	for _, node := range nodes[1:] {
		node.do("CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(nodes[0].port))
	}
	waitUntil(t, "redis cluster ok", func() bool {
		for _, node := range nodes {
			info, err := node.tryDo("CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)) {
				return false
			}
		}
		return true
	})
	return nodes
}
