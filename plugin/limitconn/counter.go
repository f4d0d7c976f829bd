package limitconn

import (
	"hash/maphash"
	stdsync "sync"
)

// Counters is the local policy's state: how many requests of each counter
// key are in flight (resty.limit.conn on APISIX's plugin-limit-conn shared
// dict), shared by every event loop. A key at zero is the same as none; such
// keys are evicted as others arrive (sampled), and kept meanwhile so a
// client's next request does not allocate.
//
// Safe from any goroutine; a known key allocates nothing.
type Counters struct {
	seed   maphash.Seed
	maxPer int
	shards [numShards]shard
}

const (
	numShards = 64
	// DefaultMaxKeys bounds the keys kept. Keys in flight are never
	// evicted, so the bound only limits idle ones; past it an idle key is
	// dropped from the sample, or the new key is counted untracked.
	DefaultMaxKeys = 1 << 20
	sweepSample    = 8
)

type shard struct {
	mu stdsync.Mutex // guards m
	m  map[string]*int64
	_  [48]byte
}

// NewCounters returns empty counters (maxKeys <= 0: DefaultMaxKeys).
func NewCounters(maxKeys int) *Counters {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	c := &Counters{seed: maphash.MakeSeed(), maxPer: max(maxKeys/numShards, 1)}
	for i := range c.shards {
		c.shards[i].m = map[string]*int64{}
	}
	return c
}

func (c *Counters) shard(key []byte) *shard { return &c.shards[maphash.Bytes(c.seed, key)%numShards] }

// Incoming is resty.limit.conn's incoming(key, true): one more request in
// flight, unless that makes more than limit (conn + burst), when nothing
// changes and ok is false. It returns the count including this request.
func (c *Counters) Incoming(key []byte, limit int64) (conn int64, ok bool) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n := sh.m[string(key)]
	if n == nil {
		n = sh.insertLocked(string(key), c.maxPer)
	}
	if *n+1 > limit {
		return *n + 1, false
	}
	*n++
	return *n, true
}

// Leaving is resty.limit.conn's leaving: one request of key is over.
func (c *Counters) Leaving(key []byte) {
	sh := c.shard(key)
	sh.mu.Lock()
	if n := sh.m[string(key)]; n != nil && *n > 0 {
		*n--
	}
	sh.mu.Unlock()
}

func (sh *shard) insertLocked(key string, maxPer int) *int64 {
	n := 0
	for k, v := range sh.m {
		if *v == 0 {
			delete(sh.m, k)
		}
		if n++; n >= sweepSample {
			break
		}
	}
	v := new(int64)
	if len(sh.m) < maxPer {
		sh.m[key] = v
	}
	return v
}

// InFlight returns key's count (tests).
func (c *Counters) InFlight(key string) int64 {
	sh := c.shard([]byte(key))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if n := sh.m[key]; n != nil {
		return *n
	}
	return 0
}
