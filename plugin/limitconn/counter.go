package limitconn

import (
	"time"

	"github.com/sluicegw/sluice/internal/shdict"
)

// Counters is the local policy's state: how many requests of each counter
// key are in flight (resty.limit.conn on APISIX's plugin-limit-conn shared
// dict), shared by every event loop. A key at zero is the same as none; such
// keys are evicted as others arrive (sampled), and kept meanwhile so a
// client's next request does not allocate.
//
// Safe from any goroutine; a known key allocates nothing.
type Counters struct {
	dict *shdict.Dict[inFlight, *inFlight]
}

// DefaultMaxKeys bounds the keys kept. Keys in flight are never evicted, so
// the bound only limits idle ones; past it an idle key is dropped from the
// sample, or the new key is counted untracked.
const DefaultMaxKeys = shdict.DefaultMaxKeys

// inFlight is one key's count of requests in flight.
type inFlight int64

// Stale implements shdict.Entry: nothing in flight is the same as no key.
func (n *inFlight) Stale(time.Duration) bool { return *n == 0 }

// Deadline implements shdict.Entry: a count in flight never expires on its
// own (only Leaving lowers it), so it is never evicted.
func (n *inFlight) Deadline() (time.Duration, bool) { return 0, false }

// NewCounters returns empty counters (maxKeys <= 0: DefaultMaxKeys).
func NewCounters(maxKeys int) *Counters {
	return &Counters{dict: shdict.New[inFlight](maxKeys)}
}

// Incoming is resty.limit.conn's incoming(key, true): one more request in
// flight, unless that makes more than limit (conn + burst), when nothing
// changes and ok is false. It returns the count including this request.
func (c *Counters) Incoming(key []byte, limit int64) (conn int64, ok bool) {
	sh := c.dict.Lock(key)
	defer sh.Unlock()
	n := sh.GetLocked(key)
	if n == nil {
		// The clock is of no use: counts have no deadline.
		if n = sh.InsertLocked(key, 0); n == nil {
			// Every sampled key is in flight and the shard is full: the
			// request is counted as the key's only one, untracked.
			return 1, limit >= 1
		}
	}
	if int64(*n)+1 > limit {
		return int64(*n) + 1, false
	}
	*n++
	return int64(*n), true
}

// Leaving is resty.limit.conn's leaving: one request of key is over.
func (c *Counters) Leaving(key []byte) {
	sh := c.dict.Lock(key)
	if n := sh.GetLocked(key); n != nil && *n > 0 {
		*n--
	}
	sh.Unlock()
}

// InFlight returns key's count (tests).
func (c *Counters) InFlight(key string) int64 {
	sh := c.dict.Lock([]byte(key))
	defer sh.Unlock()
	if n := sh.GetLocked([]byte(key)); n != nil {
		return int64(*n)
	}
	return 0
}
