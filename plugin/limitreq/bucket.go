package limitreq

import (
	"hash/maphash"
	"math"
	stdsync "sync"
	"time"
)

// Buckets is the local policy's state: one leaky bucket per counter key
// (resty.limit.req on APISIX's plugin-limit-req shared dict), shared by
// every event loop. A bucket holds its excess in thousandths of a request
// and when it last let one through; it drains at rate.
//
// Sharded maps, each under a mutex held for a lookup and a few arithmetic
// operations. A bucket that has drained completely is indistinguishable
// from none, so it is evicted (sampled as keys arrive) once it has; a cap
// (DefaultMaxKeys) bounds the rest.
//
// Safe from any goroutine; a known key allocates nothing.
type Buckets struct {
	now    func() time.Duration // monotonic clock
	seed   maphash.Seed
	maxPer int
	shards [numShards]shard
}

const (
	numShards = 64
	// DefaultMaxKeys bounds the buckets kept (about 80 bytes each).
	DefaultMaxKeys = 1 << 20
	sweepSample    = 8
)

type shard struct {
	mu stdsync.Mutex // guards m
	m  map[string]*bucket
	_  [48]byte // keep hot shards off each other's cache lines
}

type bucket struct {
	excess int64         // thousandths of a request, truncated as resty's unsigned long
	last   int64         // milliseconds, on the store's clock
	empty  time.Duration // when it will have drained to nothing
}

var processStart = time.Now()

func monotonic() time.Duration { return time.Since(processStart) }

// NewBuckets returns empty buckets (maxKeys <= 0: DefaultMaxKeys) on the
// clock now (nil: the monotonic clock).
func NewBuckets(maxKeys int, now func() time.Duration) *Buckets {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = monotonic
	}
	b := &Buckets{now: now, seed: maphash.MakeSeed(), maxPer: max(maxKeys/numShards, 1)}
	for i := range b.shards {
		b.shards[i].m = map[string]*bucket{}
	}
	return b
}

// Incoming is resty.limit.req's incoming(key, true): rate and burst are in
// thousandths (rate 1 r/s is 1000). A request that would raise the excess
// above burst is rejected and changes nothing; otherwise it is recorded and
// Incoming returns how long it should wait (excess / rate).
func (b *Buckets) Incoming(key []byte, rate, burst float64) (delay time.Duration, ok bool) {
	nowD := b.now()
	now := nowD.Milliseconds()
	sh := &b.shards[maphash.Bytes(b.seed, key)%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	bk := sh.m[string(key)]
	excess := 0.0
	if bk != nil {
		elapsed := math.Abs(float64(now - bk.last))
		excess = math.Max(float64(bk.excess)-rate*elapsed/1000+1000, 0)
		if excess > burst {
			return 0, false
		}
	} else {
		bk = sh.insertLocked(string(key), nowD, b.maxPer)
	}
	bk.excess, bk.last = int64(excess), now
	// Drained when rate*elapsed/1000 >= excess+1000: a request then finds
	// excess 0, as with no bucket at all.
	bk.empty = nowD + time.Duration(math.Ceil((excess+1000)/rate*1000))*time.Millisecond
	return time.Duration(excess / rate * float64(time.Second)), true
}

// Uncommit takes back one request recorded by Incoming (resty.limit.req's
// uncommit): a request that was let through but then not delayed.
func (b *Buckets) Uncommit(key []byte) {
	sh := &b.shards[maphash.Bytes(b.seed, key)%numShards]
	sh.mu.Lock()
	if bk := sh.m[string(key)]; bk != nil {
		bk.excess = max(bk.excess-1000, 0)
	}
	sh.mu.Unlock()
}

func (sh *shard) insertLocked(key string, now time.Duration, maxPer int) *bucket {
	n := 0
	var victim string
	victimEmpty := time.Duration(-1)
	for k, bk := range sh.m {
		if bk.empty <= now {
			delete(sh.m, k)
		} else if victimEmpty < 0 || bk.empty < victimEmpty {
			victim, victimEmpty = k, bk.empty
		}
		if n++; n >= sweepSample {
			break
		}
	}
	if len(sh.m) >= maxPer && victimEmpty >= 0 {
		delete(sh.m, victim)
	}
	bk := &bucket{}
	sh.m[key] = bk
	return bk
}

// Len returns how many buckets are kept (tests).
func (b *Buckets) Len() int {
	n := 0
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
