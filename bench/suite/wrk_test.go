package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const wrkOutput = `Running 2s test @ http://127.0.0.1:18082/svc7/api/v1/res707/item
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  310.55us   9.81ms   90.12%
    Req/Sec    63.12k     1.20k   65.40k    70.00%
  125634 requests in 2.00s, 17.25MB read
Requests/sec:  62816.99
Transfer/sec:      8.63MB
SUITE-RESULT duration_us=2000030 requests=125634 bytes=18088512 connect=0 read=0 write=0 status=3 timeout=1 mean_us=1018.4 min_us=112 max_us=9810 p50_us=980 p90_us=1310 p99_us=1620 p999_us=3400
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 125634 || r.P99US != 1620 || r.P999US != 3400 || r.Errors() != 4 {
		t.Errorf("parsed %+v", r)
	}
	if rps := r.RPS(); rps < 62816 || rps > 62818 {
		t.Errorf("rps %v", rps)
	}
	for name, out := range map[string]string{
		"no result line": "Requests/sec: 1\n",
		"missing field":  "SUITE-RESULT duration_us=1 requests=1\n",
		"unknown field":  strings.Replace(wrkOutput, "status=3", "stat=3", 1),
		"no requests":    strings.Replace(wrkOutput, "requests=125634", "requests=0", 1),
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWrkArgs(t *testing.T) {
	w := wrkSpec{URL: "http://127.0.0.1:1/x", Threads: 1, Conns: 64, Duration: 10 * time.Second, Timeout: 5 * time.Second,
		Headers: map[string]string{"b": "2", "a": "1"}, Script: "/tmp/s.lua", Args: []string{"100000"}, CPU: 1}
	want := []string{"-c", "1", "wrk", "-t", "1", "-c", "64", "-d", "10s", "--timeout", "5s", "-H", "a: 1", "-H", "b: 2",
		"-s", "/tmp/s.lua", "http://127.0.0.1:1/x", "--", "100000"}
	if got := w.args(); !slices.Equal(got, want) {
		t.Errorf("args\n got %q\nwant %q", got, want)
	}
}

// The reporter goes after the scenario's own script, whose done() it keeps.
func TestWriteWrkScript(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own.lua")
	if err := os.WriteFile(own, []byte("function done() print('mine') end"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := writeWrkScript(dir, "x", own)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	s := string(b)
	if !strings.HasPrefix(s, "function done() print('mine') end") || !strings.Contains(s, "local suite_done = done") ||
		!strings.Contains(s, "SUITE-RESULT") {
		t.Errorf("script:\n%s", s)
	}
}
