package shdict

import (
	"fmt"
	"testing"
	"time"
)

// expiring has a deadline, as limit-req's buckets and limit-count's windows.
type expiring struct{ until time.Duration }

func (e *expiring) Stale(now time.Duration) bool    { return e.until <= now }
func (e *expiring) Deadline() (time.Duration, bool) { return e.until, true }

// held has none while it is non-zero, as limit-conn's counts in flight.
type held struct{ n int }

func (h *held) Stale(time.Duration) bool        { return h.n == 0 }
func (h *held) Deadline() (time.Duration, bool) { return 0, false }

func insert[V any, P Entry[V]](d *Dict[V, P], key string, now time.Duration) *V {
	sh := d.Lock([]byte(key))
	defer sh.Unlock()
	return sh.InsertLocked([]byte(key), now)
}

func get[V any, P Entry[V]](d *Dict[V, P], key string) *V {
	sh := d.Lock([]byte(key))
	defer sh.Unlock()
	return sh.GetLocked([]byte(key))
}

func TestStaleEntriesGoAsKeysArrive(t *testing.T) {
	d := New[expiring](0)
	for i := range 20000 {
		insert(d, fmt.Sprint("old-", i), 0).until = time.Second
	}
	for i := range 20000 {
		insert(d, fmt.Sprint("new-", i), 2*time.Second).until = 3 * time.Second
	}
	if n := d.Len(); n > 22000 {
		t.Fatalf("%d keys kept: stale ones are not evicted", n)
	}
	if v := get(d, "new-19999"); v == nil || v.until != 3*time.Second {
		t.Fatalf("the last key: %+v", v)
	}
}

func TestTheCapEvictsTheEarliestDeadline(t *testing.T) {
	d := New[expiring](numShards * 4)
	for i := range 10000 {
		insert(d, fmt.Sprint("k-", i), 0).until = time.Duration(i+1) * time.Second
	}
	if n := d.Len(); n > numShards*4 {
		t.Fatalf("%d keys kept, cap %d", n, numShards*4)
	}
}

// Values without a deadline are never evicted: at the cap, a new key is
// refused instead.
func TestLiveEntriesWithoutDeadlineStay(t *testing.T) {
	d := New[held](numShards)
	refused := 0
	for i := range 1000 {
		v := insert(d, fmt.Sprint("k-", i), 0)
		if v == nil {
			refused++
			continue
		}
		v.n = 1
	}
	if refused == 0 || d.Len() > numShards {
		t.Fatalf("%d refused, %d kept", refused, d.Len())
	}
	// Once nothing is in flight they are stale, and make room.
	for i := range 1000 {
		if v := get(d, fmt.Sprint("k-", i)); v != nil {
			v.n = 0
		}
	}
	for i := range 1000 {
		if insert(d, fmt.Sprint("again-", i), 0) != nil {
			return
		}
	}
	t.Fatal("stale keys made no room")
}

// A shard that evicts reuses the evicted key's slot.
func TestSlotsAreReused(t *testing.T) {
	d := New[expiring](numShards) // one key per shard
	sh := d.shard([]byte("a"))
	inserted := 0
	for i := 0; inserted < 100; i++ {
		key := fmt.Sprint("a", i)
		if d.shard([]byte(key)) != sh {
			continue
		}
		insert(d, key, time.Duration(i)*time.Second).until = time.Duration(i+1) * time.Second
		inserted++
	}
	if len(sh.vals) != 1 || len(sh.idx) != 1 {
		t.Fatalf("%d slots for %d keys, want 1", len(sh.vals), len(sh.idx))
	}
}
