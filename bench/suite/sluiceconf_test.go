package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/localconf"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// Every stock scenario's apisix.yaml is a file sluice's own parser accepts
// (whether sluice can run its plugins is decided at run time), and filler
// routes bring the table to the size asked.
func TestStockScenariosRenderForSluice(t *testing.T) {
	t.Chdir("../..")
	all, err := LoadScenarios(defaultScenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Group != "" && !strings.HasSuffix(s.Name, "-c64") {
			continue // sweep points share one config
		}
		specs := map[string]SluiceSpec{s.Name: s.Sluice}
		for v, spec := range s.Variants {
			specs[s.Name+"/"+v] = spec
		}
		for name, spec := range specs {
			t.Run(name, func(t *testing.T) {
				if spec.Routes > 1000 {
					spec.Routes = 1000 // the same generator, less work
				}
				vars := exampleVars(s.Services)
				vars[placeholderOrigin] = "127.0.0.1:18080"
				data, err := apisixYAML(&spec, vars)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(data, []byte("${")) || !bytes.Contains(data, []byte("127.0.0.1:18080")) {
					t.Errorf("placeholders not substituted:\n%s", data)
				}
				changes, err := cfgsync.ParseYAML(data)
				if err != nil {
					t.Fatalf("sluice refuses the file: %v\n%s", err, data)
				}
				routes := 0
				for _, c := range changes {
					if c.Kind == config.Routes {
						routes++
					}
				}
				if want := max(spec.Routes, 1); routes != want {
					t.Errorf("%d routes, want %d", routes, want)
				}
			})
		}
	}
}

// A scenario's variants become targets <build>-<variant> in a run (not in
// compare), each started with its own configuration.
func TestVariantTargets(t *testing.T) {
	s, err := ParseScenario([]byte(minimalScenario+"sluice_variants:\n  catchall:\n    apisix_yaml: |\n      routes: [{uri: /*, upstream_id: origin}]\n      upstreams: [{id: origin, nodes: {\"${ORIGIN}\": 1}}]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := &session{cfg: sessionConfig{Builds: []*build{{name: "sluice"}}, Baselines: true}}
	if got := strings.Join(run.targetNames(s), " "); !strings.HasSuffix(got, "sluice sluice-catchall") {
		t.Fatalf("run targets %q", got)
	}
	cmp := &session{cfg: sessionConfig{Builds: []*build{{name: "base"}, {name: "new"}}}}
	if got := strings.Join(cmp.targetNames(s), " "); got != "base new" {
		t.Fatalf("compare targets %q", got)
	}
	b, spec := run.variant(s, "sluice-catchall")
	if b == nil || !strings.Contains(spec.APISIXYAML, "/*") {
		t.Fatalf("variant %v %+v", b, spec)
	}
	if _, err := ParseScenario([]byte(minimalScenario+"sluice_variants:\n  Bad_Name:\n    apisix_yaml: \"routes: []\"\n"), t.TempDir()); err == nil {
		t.Fatal("a bad variant name was accepted")
	}
}

func TestSluiceLocalConfig(t *testing.T) {
	dir := t.TempDir()
	s, err := ParseScenario([]byte(minimalScenario+"  config: |\n    nginx_config:\n      http:\n        upstream:\n          keepalive: 64\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := writeSluiceConfig(s, &s.Sluice, filepath.Join(dir, "sluice"), 18082, map[string]string{placeholderOrigin: "127.0.0.1:18080"})
	if err != nil {
		t.Fatal(err)
	}
	local, err := localconf.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if local.Provider != localconf.ProviderYAML {
		t.Errorf("provider %v, want yaml", local.Provider)
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"port: 18082", "enable_control: false", "keepalive: 64", "role: data_plane"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config.yaml lacks %q:\n%s", want, b)
		}
	}
}
