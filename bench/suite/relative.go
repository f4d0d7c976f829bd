package main

import (
	"fmt"
	"io"
	"slices"
)

// The targets for plugins are stated against the no-plugin data path
// ("plugin chain ≥ 0.90× the no-plugin req/s", "Lua hook under 10% of
// throughput versus no plugin, in the same run"), so a run that measures
// both relates each plugin scenario to no-plugin.
const (
	noPluginScenario = "no-plugin" // the bare data path
	tagPlugins       = "plugins"   // scenarios whose cost is relative to it
)

// runOrder is the order run measures scenarios in: no-plugin first when
// plugin scenarios are selected too, so each plugin record has its ratio
// when it is printed and appended (a run records as it goes); otherwise
// as given.
func runOrder(scenarios []*Scenario) []*Scenario {
	i := slices.IndexFunc(scenarios, func(sc *Scenario) bool { return sc.Name == noPluginScenario })
	hasPlugins := slices.ContainsFunc(scenarios, func(sc *Scenario) bool { return slices.Contains(sc.Tags, tagPlugins) })
	if i <= 0 || !hasPlugins {
		return scenarios
	}
	out := make([]*Scenario, 0, len(scenarios))
	out = append(out, scenarios[i])
	out = append(out, scenarios[:i]...)
	return append(out, scenarios[i+1:]...)
}

// relateToNoPlugin sets rec.RPSToNoPlugin when sc is a plugin scenario
// and base, the same run's no-plugin record (nil if none), was measured
// alike: both OK, same connections and threads.
func relateToNoPlugin(sc *Scenario, rec, base *Record) {
	if base == nil || !slices.Contains(sc.Tags, tagPlugins) || rec.Status != StatusOK || base.Status != StatusOK ||
		rec.Settings.Connections != base.Settings.Connections || rec.Settings.Threads != base.Settings.Threads {
		return
	}
	if r, ok := ratio(rec.Targets[targetSluice], base.Targets[targetSluice], "rps"); ok {
		rec.RPSToNoPlugin = r
	}
}

// noPluginLine is how a record's ratio to no-plugin reads ("" if none).
func noPluginLine(rec *Record) string {
	if rec.RPSToNoPlugin == 0 {
		return ""
	}
	return fmt.Sprintf("%s / %s (same run): req/s ×%.3f", targetSluice, noPluginScenario, rec.RPSToNoPlugin)
}

// writeNoPluginSummary lists, at the end of a run, each plugin scenario's
// req/s as a fraction of no-plugin's; nothing if no record has one.
func writeNoPluginSummary(w io.Writer, recs []*Record) {
	var rows []*Record
	for _, r := range recs {
		if r.RPSToNoPlugin != 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nsluice req/s relative to %s in this run:\n", noPluginScenario)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-28s ×%.3f\n", r.Scenario, r.RPSToNoPlugin)
	}
}
