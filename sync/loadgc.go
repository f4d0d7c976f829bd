package sync

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
)

// loadGC tunes the garbage collector while a source applies its first
// full configuration. The load allocates several times what it keeps (two
// JSON decodes per object, the pages etcd returns), and that garbage dies
// at once: collecting less often makes it markedly faster, so GOGC is 400
// while it runs. Unbounded, that let a 1M-route load peak at five times
// its live heap (2.9 GiB, issue 13); so, unless the process already has a
// memory limit (GOMEMLIMIT), the load also sets a soft one that follows
// the live heap (a quarter above it, plus loadHeadroom), and the collector
// runs when the heap reaches it instead. Both are restored when the load
// ends. Only the source's goroutine uses it.
type loadGC struct {
	percent int   // GOGC before the load
	limit   int64 // the memory limit before the load
	own     bool  // the load sets the limit (there was none)
	sample  []metrics.Sample
}

const (
	loadGOGC = 400
	// loadHeadroom is what the heap may grow past its live part (plus a
	// quarter of that) during a load: room for a few pages in flight and
	// their decoding, so a small load never collects because of the limit.
	loadHeadroom = 256 << 20
)

func startLoadGC() *loadGC {
	g := &loadGC{percent: debug.SetGCPercent(loadGOGC), limit: debug.SetMemoryLimit(-1)}
	g.own = g.limit == math.MaxInt64
	g.sample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	g.progress()
	return g
}

// progress moves the limit along with the live heap (as of the last
// collection); call it as the load goes, e.g. once per page.
func (g *loadGC) progress() {
	if !g.own {
		return
	}
	metrics.Read(g.sample)
	var live int64
	if v := g.sample[0].Value; v.Kind() == metrics.KindUint64 {
		live = int64(v.Uint64())
	}
	debug.SetMemoryLimit(live + live/4 + loadHeadroom)
}

// done restores the settings the load found.
func (g *loadGC) done() {
	debug.SetGCPercent(g.percent)
	if g.own {
		debug.SetMemoryLimit(g.limit)
	}
}
