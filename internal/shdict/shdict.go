package shdict

import (
	"hash/maphash"
	stdsync "sync"
	"time"
)

// Entry is the pointer type of a Dict's values: what a value says about
// its own eviction. Both methods are called with the value's shard locked.
type Entry[V any] interface {
	*V
	// Stale reports whether the value is, at now, the same as no value at
	// all: an insertion that samples it deletes it.
	Stale(now time.Duration) bool
	// Deadline is when the value will be stale if nothing changes it; ok
	// false means it has none (it stays until its owner changes it). At the
	// cap, the sampled value with the earliest deadline is evicted; a value
	// without one never is.
	Deadline() (at time.Duration, ok bool)
}

const (
	numShards = 64
	// sweepSample is how many entries an insertion inspects.
	sweepSample = 8
)

// processStart anchors Now.
var processStart = time.Now()

// Now is the clock the limit plugins' stores keep deadlines on unless a
// test injects its own: monotonic time since the process started, small
// enough that a deadline never overflows.
func Now() time.Duration { return time.Since(processStart) }

// DefaultMaxKeys is the key cap a dict gets when asked for none.
const DefaultMaxKeys = 1 << 20

// Dict maps string keys to values of type V, over sharded maps. Safe from
// any goroutine.
type Dict[V any, P Entry[V]] struct {
	seed   maphash.Seed
	shards [numShards]Shard[V, P]
}

// Shard is one mutex-guarded part of a Dict, returned locked by Dict.Lock.
type Shard[V any, P Entry[V]] struct {
	mu     stdsync.Mutex    // guards idx, vals, free
	idx    map[string]int32 // key -> slot in vals
	vals   []V
	free   []int32  // slots of deleted keys, reused first
	maxPer int      // keys this shard may hold: its share of the cap
	_      [64]byte // keep hot shards off each other's cache lines
}

// New returns an empty dict holding at most maxKeys keys (DefaultMaxKeys
// when <= 0; at least one per shard).
func New[V any, P Entry[V]](maxKeys int) *Dict[V, P] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	d := &Dict[V, P]{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].idx = map[string]int32{}
		d.shards[i].maxPer = max(maxKeys/numShards, 1)
	}
	return d
}

// Lock locks key's shard and returns it; the caller unlocks it.
func (d *Dict[V, P]) Lock(key []byte) *Shard[V, P] {
	sh := d.shard(key)
	sh.mu.Lock()
	return sh
}

func (d *Dict[V, P]) shard(key []byte) *Shard[V, P] {
	return &d.shards[maphash.Bytes(d.seed, key)%numShards]
}

// Unlock unlocks the shard.
func (sh *Shard[V, P]) Unlock() { sh.mu.Unlock() }

// GetLocked returns key's value, or nil when the dict has none. It
// allocates nothing.
func (sh *Shard[V, P]) GetLocked(key []byte) *V {
	if i, ok := sh.idx[string(key)]; ok {
		return &sh.vals[i]
	}
	return nil
}

// InsertLocked adds key, which the shard must not hold, with a zero value
// and returns that value. It first samples the shard: stale values are
// deleted and, if the shard is still full, the sampled value with the
// earliest deadline is evicted. It returns nil, adding nothing, when the
// shard is full and no sampled value has a deadline; a dict whose values
// always have one never returns nil.
func (sh *Shard[V, P]) InsertLocked(key []byte, now time.Duration) *V {
	n := 0
	var victim string
	victimAt, found := time.Duration(0), false
	for k, i := range sh.idx {
		v := P(&sh.vals[i])
		if v.Stale(now) {
			sh.deleteLocked(k, i)
		} else if at, ok := v.Deadline(); ok && (!found || at < victimAt) {
			victim, victimAt, found = k, at, true
		}
		if n++; n >= sweepSample {
			break
		}
	}
	if len(sh.idx) >= sh.maxPer {
		if !found {
			return nil
		}
		sh.deleteLocked(victim, sh.idx[victim])
	}
	var i int32
	if l := len(sh.free); l > 0 {
		i = sh.free[l-1]
		sh.free = sh.free[:l-1]
	} else {
		i = int32(len(sh.vals))
		sh.vals = append(sh.vals, *new(V))
	}
	sh.idx[string(key)] = i
	return &sh.vals[i]
}

func (sh *Shard[V, P]) deleteLocked(key string, i int32) {
	delete(sh.idx, key)
	sh.vals[i] = *new(V)
	sh.free = append(sh.free, i)
}

// Len returns how many keys the dict holds (tests).
func (d *Dict[V, P]) Len() int {
	n := 0
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		n += len(sh.idx)
		sh.mu.Unlock()
	}
	return n
}
