package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// runOptions are run's flags.
type runOptions struct {
	common   commonOptions
	haproxy  bool
	tags     string
	history  string
	record   bool
	markdown string
	plot     string
}

// runSuite measures the working tree's sluice and the baselines on each
// scenario, prints each result as it completes and, with record, appends
// it to the history and refreshes BENCHMARKS.md and the plot.
func runSuite(ctx context.Context, o runOptions, scenarios []*Scenario, stdout, stderr io.Writer) error {
	if err := ensureTools(o.common.install, neededTools(o.haproxy, scenarios), stderr); err != nil {
		return err
	}
	// The commit is read before anything is measured: the run itself
	// changes the history file, not the code.
	commit, dirty, subject, commitDate, err := gitInfo(".")
	if err != nil {
		return err
	}
	work, cleanup, err := o.common.workDir()
	if err != nil {
		return err
	}
	defer cleanup()
	src := &source{name: targetSluice, rev: ".", dir: ".", commit: commit, dirty: dirty, tags: o.tags}
	fmt.Fprintf(stderr, "building sluice (%s)...\n", src.label())
	b, err := buildSluice(ctx, src, work)
	if err != nil {
		return err
	}
	profiles, err := o.common.profileDir()
	if err != nil {
		return err
	}
	if err := o.common.prepareMachine(); err != nil {
		return err
	}
	machine := thisMachine()
	sess, err := newSession(ctx, sessionConfig{Work: work, ProxyCPU: o.common.proxyCPU, LoadCPU: o.common.loadCPU,
		Builds: []*build{b}, HAProxy: o.haproxy, Baselines: true, ProfileDir: profiles, Log: stderr}, scenarios)
	if err != nil {
		return err
	}
	defer sess.close()
	recorded := 0
	var noPlugin *Record // this run's, once measured
	var done []*Record
	for _, sc := range runOrder(scenarios) {
		rec, err := sess.runScenario(ctx, sc)
		if err != nil {
			return err
		}
		rec.Commit, rec.Dirty, rec.Subject, rec.CommitDate = commit, dirty, subject, commitDate
		rec.Date, rec.Machine = time.Now().UTC(), machine
		if sc.Name == noPluginScenario {
			noPlugin = rec
		}
		relateToNoPlugin(sc, rec, noPlugin)
		done = append(done, rec)
		writeRecordText(stdout, rec)
		if o.record {
			// One scenario at a time: an interrupted run keeps what it measured.
			if err := AppendHistory(o.history, rec); err != nil {
				return err
			}
			recorded++
		}
	}
	sess.close()
	writeNoPluginSummary(stdout, done)
	if profiles != "" {
		fmt.Fprintf(stderr, "CPU profiles in %s (go tool pprof -top %s)\n", profiles, profilePath(profiles, "<scenario>", targetSluice))
	}
	if !o.record || recorded == 0 {
		return nil
	}
	fmt.Fprintf(stderr, "appended %d records to %s\n", recorded, o.history)
	if o.markdown != "" {
		if _, err := regenerateFile(o.markdown, o.history, false); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "regenerated %s\n", o.markdown)
	}
	if o.plot != "" {
		recs, err := LoadHistory(o.history)
		if err != nil {
			return err
		}
		if err := WritePlots(recs, o.plot); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "drew %s.png and %s.svg\n", o.plot, o.plot)
	}
	return nil
}
