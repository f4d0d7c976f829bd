package plugintest

import (
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Redis starts a redis-server on a free loopback port for the test, with
// extra arguments ("--requirepass", "x"), and returns its port; it skips
// the test when redis-server is not installed (the e2e tests require it;
// scripts/test.sh installs it). The server is killed when the test ends.
func Redis(t testing.TB, extra ...string) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir()}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// redis-server says nothing when it listens: poll until it does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server never listened: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
