package limitreq

import (
	"math"
	"time"

	"github.com/sluicegw/sluice/internal/shdict"
)

// Buckets is the local policy's state: one leaky bucket per counter key
// (resty.limit.req on APISIX's plugin-limit-req shared dict), shared by
// every event loop. A bucket holds its excess in thousandths of a request
// and when it last let one through; it drains at rate.
//
// A bucket that has drained completely is indistinguishable from none, so
// it is evicted (sampled as keys arrive) once it has; a cap
// (DefaultMaxKeys) bounds the rest, the bucket nearest to drained going
// first (shdict).
//
// Safe from any goroutine; a known key allocates nothing.
type Buckets struct {
	now  func() time.Duration // monotonic clock
	dict *shdict.Dict[bucket, *bucket]
}

// DefaultMaxKeys bounds the buckets kept (about 80 bytes each).
const DefaultMaxKeys = shdict.DefaultMaxKeys

type bucket struct {
	excess int64         // thousandths of a request, truncated as resty's unsigned long
	last   int64         // milliseconds, on the store's clock
	empty  time.Duration // when it will have drained to nothing
}

// Stale implements shdict.Entry: a drained bucket is the same as none.
func (b *bucket) Stale(now time.Duration) bool { return b.empty <= now }

// Deadline implements shdict.Entry: the bucket is drained at empty.
func (b *bucket) Deadline() (time.Duration, bool) { return b.empty, true }

// NewBuckets returns empty buckets (maxKeys <= 0: DefaultMaxKeys) on the
// clock now (nil: shdict.Now, the monotonic clock).
func NewBuckets(maxKeys int, now func() time.Duration) *Buckets {
	if now == nil {
		now = shdict.Now
	}
	return &Buckets{now: now, dict: shdict.New[bucket](maxKeys)}
}

// Incoming is resty.limit.req's incoming(key, true): rate and burst are in
// thousandths (rate 1 r/s is 1000). A request that would raise the excess
// above burst is rejected and changes nothing; otherwise it is recorded and
// Incoming returns how long it should wait (excess / rate).
func (b *Buckets) Incoming(key []byte, rate, burst float64) (delay time.Duration, ok bool) {
	nowD := b.now()
	now := nowD.Milliseconds()
	sh := b.dict.Lock(key)
	defer sh.Unlock()
	bk := sh.GetLocked(key)
	excess := 0.0
	if bk != nil {
		elapsed := math.Abs(float64(now - bk.last))
		excess = math.Max(float64(bk.excess)-rate*elapsed/1000+1000, 0)
		if excess > burst {
			return 0, false
		}
	} else {
		bk = sh.InsertLocked(key, nowD) // never nil: buckets have deadlines
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
	sh := b.dict.Lock(key)
	if bk := sh.GetLocked(key); bk != nil {
		bk.excess = max(bk.excess-1000, 0)
	}
	sh.Unlock()
}

// Len returns how many buckets are kept (tests).
func (b *Buckets) Len() int { return b.dict.Len() }
