package limitcount

import (
	"hash/maphash"
	stdsync "sync"
	"time"
)

// Store is the local policy's counters: fixed windows, one per counter key,
// shared by every event loop of the process (APISIX's plugin-limit-count
// shared dict, which every nginx worker shares). A window starts at its
// key's first request and lasts time_window; the first request after it
// ends starts the next one.
//
// Keys are spread over shards, each a map under its own mutex held only for
// a lookup and a few arithmetic operations. Expired windows are evicted as
// new keys arrive (a few sampled per insertion, as Redis expires keys), and
// a shard never holds more than its share of MaxKeys: past that the window
// nearest its end among a sample is evicted, as nginx's shared dict evicts
// its least recently used entry when full.
//
// Safe from any goroutine. Counting an existing key allocates nothing.
type Store struct {
	now    func() time.Duration // monotonic clock (tests inject one)
	seed   maphash.Seed
	maxPer int // keys per shard
	shards [numShards]shard
}

const numShards = 64

// DefaultMaxKeys bounds the local store: about 100 bytes a key, so 1M keys
// stay near 100 MiB (APISIX's plugin-limit-count dict is 10 MiB of shared
// memory; a Go map entry costs more than an nginx one).
const DefaultMaxKeys = 1 << 20

// sweepSample is how many entries an insertion inspects for expiry.
const sweepSample = 8

type shard struct {
	mu   stdsync.Mutex // guards idx, wins, free
	idx  map[string]int32
	wins []window
	free []int32
	_    [40]byte // keep hot shards off each other's cache lines
}

// window is one key's fixed window.
type window struct {
	key   string
	count int64         // consumed in this window
	end   time.Duration // on the store's clock
}

var processStart = time.Now()

func monotonic() time.Duration { return time.Since(processStart) }

// NewStore returns an empty store holding at most maxKeys windows
// (DefaultMaxKeys when <= 0), reading time from now (nil: the monotonic
// clock).
func NewStore(maxKeys int, now func() time.Duration) *Store {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = monotonic
	}
	s := &Store{now: now, seed: maphash.MakeSeed(), maxPer: max(maxKeys/numShards, 1)}
	for i := range s.shards {
		s.shards[i].idx = map[string]int32{}
	}
	return s
}

// Incoming counts cost requests against key's window of length length and
// limit limit. It returns the quota left (limit minus what the window has
// consumed, including this request), whether the request is within the
// limit (a rejected request is counted too, as APISIX's Redis script counts
// it), and the time until the window ends (the window's full length when
// this request opened it, as limit-count-local's set_endtime).
func (s *Store) Incoming(key []byte, limit, cost int64, length time.Duration) (remaining int64, reset time.Duration, ok bool) {
	now := s.now()
	sh := &s.shards[maphash.Bytes(s.seed, key)%numShards]
	sh.mu.Lock()
	i, found := sh.idx[string(key)]
	var w *window
	if found {
		w = &sh.wins[i]
		if now >= w.end {
			w.count, w.end = 0, now+length
		}
	} else {
		w = sh.insertLocked(string(key), now, s.maxPer)
		w.end = now + length
	}
	fresh := w.count == 0
	w.count += cost
	remaining = limit - w.count
	reset = w.end - now
	sh.mu.Unlock()
	if fresh {
		reset = length
	}
	if remaining < 0 {
		return 0, reset, false
	}
	return remaining, reset, true
}

// Peek returns key's count in its live window, 0 when it has none (the
// sliding window's read of the previous window).
func (s *Store) Peek(key []byte) int64 {
	now := s.now()
	sh := &s.shards[maphash.Bytes(s.seed, key)%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i, ok := sh.idx[string(key)]; ok && now < sh.wins[i].end {
		return sh.wins[i].count
	}
	return 0
}

// CheckAndAdd is the sliding window's check_and_incr on the local store:
// when key's count is below limit and, with est (the previous window's
// weighted share) added, still below it, cost is added (the first add
// starting a counter that lasts expiry). It returns whether it added and
// the count (after the add, or as found).
func (s *Store) CheckAndAdd(key []byte, cost, limit int64, est float64, expiry time.Duration) (bool, int64) {
	now := s.now()
	sh := &s.shards[maphash.Bytes(s.seed, key)%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var w *window
	cur := int64(0)
	if i, ok := sh.idx[string(key)]; ok {
		w = &sh.wins[i]
		if now >= w.end {
			w.count, w.end = 0, now+expiry
		}
		cur = w.count
	}
	if cur >= limit || est+float64(cur) >= float64(limit) {
		return false, cur
	}
	if w == nil {
		w = sh.insertLocked(string(key), now, s.maxPer)
		w.end = now + expiry
	}
	w.count += cost
	return true, w.count
}

// insertLocked adds key, evicting expired windows (and, at capacity, the
// one nearest its end) among a sample first.
func (sh *shard) insertLocked(key string, now time.Duration, maxPer int) *window {
	n := 0
	var victim string
	victimEnd := time.Duration(-1)
	for k, i := range sh.idx {
		if sh.wins[i].end <= now {
			sh.deleteLocked(k, i)
		} else if victimEnd < 0 || sh.wins[i].end < victimEnd {
			victim, victimEnd = k, sh.wins[i].end
		}
		if n++; n >= sweepSample {
			break
		}
	}
	if len(sh.idx) >= maxPer && victimEnd >= 0 {
		sh.deleteLocked(victim, sh.idx[victim])
	}
	var i int32
	if l := len(sh.free); l > 0 {
		i = sh.free[l-1]
		sh.free = sh.free[:l-1]
	} else {
		i = int32(len(sh.wins))
		sh.wins = append(sh.wins, window{})
	}
	sh.wins[i] = window{key: key}
	sh.idx[key] = i
	return &sh.wins[i]
}

func (sh *shard) deleteLocked(k string, i int32) {
	delete(sh.idx, k)
	sh.wins[i] = window{}
	sh.free = append(sh.free, i)
}

// Len returns how many windows the store holds (tests).
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.idx)
		sh.mu.Unlock()
	}
	return n
}
