package limitcount

import (
	"time"

	"github.com/sluicegw/sluice/internal/shdict"
)

// Store is the local policy's counters: fixed windows, one per counter key,
// shared by every event loop of the process (APISIX's plugin-limit-count
// shared dict, which every nginx worker shares). A window starts at its
// key's first request and lasts time_window; the first request after it
// ends starts the next one.
//
// Expired windows are evicted as new keys arrive (a few sampled per
// insertion, as Redis expires keys), and the store never holds more than
// MaxKeys: past that the window nearest its end among a sample is evicted,
// as nginx's shared dict evicts its least recently used entry when full
// (shdict).
//
// Safe from any goroutine. Counting an existing key allocates nothing.
type Store struct {
	now  func() time.Duration // monotonic clock (tests inject one)
	dict *shdict.Dict[window, *window]
}

// DefaultMaxKeys bounds the local store: about 100 bytes a key, so 1M keys
// stay near 100 MiB (APISIX's plugin-limit-count dict is 10 MiB of shared
// memory; a Go map entry costs more than an nginx one).
const DefaultMaxKeys = shdict.DefaultMaxKeys

// window is one key's fixed window.
type window struct {
	count int64         // consumed in this window
	end   time.Duration // on the store's clock
}

// Stale implements shdict.Entry: an expired window is the same as none.
func (w *window) Stale(now time.Duration) bool { return w.end <= now }

// Deadline implements shdict.Entry: the window expires at its end.
func (w *window) Deadline() (time.Duration, bool) { return w.end, true }

// NewStore returns an empty store holding at most maxKeys windows
// (DefaultMaxKeys when <= 0), reading time from now (nil: shdict.Now, the
// monotonic clock).
func NewStore(maxKeys int, now func() time.Duration) *Store {
	if now == nil {
		now = shdict.Now
	}
	return &Store{now: now, dict: shdict.New[window](maxKeys)}
}

// Incoming counts cost requests against key's window of length length and
// limit limit. It returns the quota left (limit minus what the window has
// consumed, including this request), whether the request is within the
// limit (a rejected request is counted too, as APISIX's Redis script counts
// it), and the time until the window ends (the window's full length when
// this request opened it, as limit-count-local's set_endtime).
func (s *Store) Incoming(key []byte, limit, cost int64, length time.Duration) (remaining int64, reset time.Duration, ok bool) {
	now := s.now()
	sh := s.dict.Lock(key)
	w := sh.GetLocked(key)
	if w != nil {
		if now >= w.end {
			w.count, w.end = 0, now+length
		}
	} else {
		w = sh.InsertLocked(key, now) // never nil: windows have deadlines
		w.end = now + length
	}
	fresh := w.count == 0
	w.count += cost
	remaining = limit - w.count
	reset = w.end - now
	sh.Unlock()
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
	sh := s.dict.Lock(key)
	defer sh.Unlock()
	if w := sh.GetLocked(key); w != nil && now < w.end {
		return w.count
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
	sh := s.dict.Lock(key)
	defer sh.Unlock()
	w := sh.GetLocked(key)
	cur := int64(0)
	if w != nil {
		if now >= w.end {
			w.count, w.end = 0, now+expiry
		}
		cur = w.count
	}
	if cur >= limit || est+float64(cur) >= float64(limit) {
		return false, cur
	}
	if w == nil {
		w = sh.InsertLocked(key, now)
		w.end = now + expiry
	}
	w.count += cost
	return true, w.count
}

// Len returns how many windows the store holds (tests).
func (s *Store) Len() int { return s.dict.Len() }
