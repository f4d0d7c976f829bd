package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// runYAML measures a standalone data plane reading apisix.yaml: process
// start to ready with the routes loaded, memory, and one route changed in
// the file (the whole file is read again, as APISIX does) to the first
// request served by the change.
func runYAML(work, sluiceBin string, o runOpts, out string) {
	upA, upB := upstream("A"), upstream("B")
	proxyPort, controlPort := freePort(), freePort()
	cfg := fmt.Sprintf(`apisix:
  node_listen: [{ip: 127.0.0.1, port: %s}]
  control: {ip: 127.0.0.1, port: %s}
deployment:
  role: data_plane
  role_data_plane: {config_provider: yaml}
plugin_attr:
  prometheus: {enable_export_server: false}
sluice:
  loops: 1
  startup_timeout: 600s
`, proxyPort, controlPort)
	cfgPath := filepath.Join(work, "config.yaml")
	check(os.WriteFile(cfgPath, []byte(cfg), 0o644))
	file := filepath.Join(work, "apisix.yaml")
	say("writing apisix.yaml with %d routes...", o.routes)
	writeApisixYAML(file, o, upA, -1, "")

	sluiceLog := &logBuffer{}
	started := time.Now()
	gw := start("sluice", o.cpus, sluiceBin, o.runArgs(cfgPath)...)
	gw.Stderr = sluiceLog
	gw.Env = append(os.Environ(), o.env...)
	check(gw.Start())
	defer o.stop(gw)
	proxy := "http://127.0.0.1:" + proxyPort
	waitFor("sluice ready", func() bool { return get("http://127.0.0.1:"+controlPort+"/status/ready") == 200 })
	ready := time.Since(started)
	memReady := memOf(gw.Process.Pid)
	cpuReady := float64(cpuTicks(gw.Process.Pid)) / 100
	say("initial load of %d routes from apisix.yaml: ready after %v, %.1f s of sluice CPU; %s",
		o.routes, ready.Round(time.Millisecond), cpuReady, memReady)
	mid := o.routes / 2
	if body, code := getBody(http.DefaultClient, proxy+fmt.Sprintf("/svc%d/api/v1/res%d", mid%100, mid)); code != 200 {
		fatalf("a loaded route answers %d, not 200: %q", code, body)
	}

	settled := settle(gw.Process.Pid) // the load's final collection (main.go)
	memSettled := memOf(gw.Process.Pid)
	say("settled %v after ready; %s", settled.Round(time.Millisecond), memSettled)

	// One route moves to upstream B: the file is rewritten (a new file
	// renamed over the old, as a deployment tool would) and polled for.
	moved := o.routes / 3
	probe := proxy + fmt.Sprintf("/svc%d/api/v1/res%d", moved%100, moved)
	writeApisixYAML(file+".new", o, upA, moved, upB)
	check(os.Rename(file+".new", file))
	changed := time.Now()
	c := &http.Client{}
	for {
		if body, code := getBody(c, probe); code == 200 && body == "B" {
			break
		}
		if time.Since(changed) > 5*time.Minute {
			fatalf("the changed file was never served")
		}
		time.Sleep(2 * time.Millisecond)
	}
	reload := time.Since(changed)
	memAfter := memOf(gw.Process.Pid)
	say("one route changed in the file -> served after %v (the poll interval is 1 s); %s", reload.Round(time.Millisecond), memAfter)
	writeResult(out, result{
		Machine: machine(), Routes: o.routes, Source: "yaml", Settings: o.String(),
		ReadyMs: ms(ready), ReadyCPUSeconds: cpuReady, RSSReadyMiB: memReady.rssMiB(), RSSSettledMiB: memSettled.rssMiB(),
		PeakRSSMiB: memAfter.peakMiB(), RSSAfterMiB: memAfter.rssMiB(),
		ReloadMs: ms(reload),
	})
}

// writeApisixYAML writes the routes as apisix.yaml (JSON, which is YAML,
// as generated configs usually are); route moved, if any, goes to upB.
func writeApisixYAML(path string, o runOpts, upA string, moved int, upB string) {
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, `{"upstreams": [{"id": "a", "nodes": {%q: 1}, "type": "roundrobin"}], "routes": [`, upA)
	for i := range o.routes {
		if i > 0 {
			w.WriteString(",\n")
		}
		if i == moved {
			fmt.Fprintf(w, `{"id": "%d", "uri": "/svc%d/api/v1/res%d", "methods": ["GET"], "upstream": {"nodes": {%q: 1}}}`, i, i%100, i, upB)
			continue
		}
		w.WriteString(routeJSON(i, o, upA))
	}
	w.WriteString("]}\n#END\n")
	check(w.Flush())
	check(f.Close())
}

func getBody(c *http.Client, url string) (string, int) {
	resp, err := c.Get(url)
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	b := make([]byte, 16)
	n, _ := resp.Body.Read(b)
	return string(b[:n]), resp.StatusCode
}
