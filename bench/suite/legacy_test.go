package main

import (
	"os"
	"testing"
	"time"
)

// The compare.sh result with a 100K-route sluice becomes two records whose
// medians are the file's own.
func TestLegacyRecords(t *testing.T) {
	data, err := os.ReadFile("../results/compare-20261125T215035Z.json")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := legacyRecords(data, "compare-20261125T215035Z.json", "8200c7a0", "subject", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Scenario != "no-plugin" || recs[1].Scenario != "routes-100k" {
		t.Fatalf("records %v", recs)
	}
	scale := recs[1]
	if scale.Settings.Routes != 100000 || scale.Settings.Reps != 5 || len(scale.Targets["sluice"].Reps) != 5 {
		t.Errorf("routes-100k settings %+v", scale.Settings)
	}
	// The file's medians: sluice-scale 57458.52 req/s, 16.36 µs; nginx 47106.
	if got := scale.Targets["sluice"].Median["rps"]; got != 57458.52 {
		t.Errorf("sluice median rps %v", got)
	}
	if got := scale.Targets["sluice"].Median["cpu_us"]; got != 16.36 {
		t.Errorf("sluice median cpu %v", got)
	}
	if got := recs[0].Targets["nginx"].Median["rps"]; got != 47106 {
		t.Errorf("nginx median rps %v", got)
	}
	if _, ok := recs[0].Targets["direct"].Median["cpu_us"]; ok {
		t.Error("direct has a CPU figure")
	}
}
