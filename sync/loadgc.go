package sync

import (
	"runtime/debug"
	"runtime/metrics"
)

// loadGC tunes the garbage collector while a source applies its first
// full configuration. The load allocates several times what it keeps (two
// JSON decodes per object, the pages etcd returns), and that garbage dies
// at once: collecting less often makes a 100K-route load markedly faster,
// so GOGC is 400 while it runs. Past loadBigHeap of live heap that would
// let the heap grow to five times a large configuration (2.9 GiB RSS for
// 1M routes, issue 13), so from there the load runs with the process's own
// GOGC again. (A soft memory limit that followed the live heap was tried:
// it kept the peak lower but collected so often that a 1M-route load took
// twice as long.) When the load ends, GOGC is restored and, after a big
// one, the collector runs once and returns what the load freed to the
// system, so the process does not sit at its load-time peak.
//
// Only the source's goroutine uses it.
type loadGC struct {
	percent int  // GOGC before the load
	big     bool // the live heap passed loadBigHeap
	sample  []metrics.Sample
}

const (
	loadGOGC = 400
	// loadBigHeap is the live heap (about 250K routes) past which a load
	// collects as usual.
	loadBigHeap = 256 << 20
)

func startLoadGC() *loadGC {
	return &loadGC{
		percent: debug.SetGCPercent(loadGOGC),
		sample:  []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
	}
}

// progress checks the live heap (as of the last collection); call it as
// the load goes, e.g. once per page.
func (g *loadGC) progress() {
	if g.big {
		return
	}
	metrics.Read(g.sample)
	if v := g.sample[0].Value; v.Kind() == metrics.KindUint64 && v.Uint64() > loadBigHeap {
		g.big = true
		debug.SetGCPercent(g.percent)
	}
}

// done restores GOGC; after a big load it also collects and returns the
// freed memory to the system (debug.FreeOSMemory: one collection of the
// live heap, seconds of CPU for 1M routes), on a goroutine of its own so
// the source goes on to watch meanwhile. Call it once the snapshot is
// published.
func (g *loadGC) done() {
	g.progress()
	debug.SetGCPercent(g.percent)
	if g.big {
		go debug.FreeOSMemory()
	}
}
