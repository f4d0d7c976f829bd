//go:build !race

package shdict

import (
	"testing"
	"time"
)

func TestKnownKeyAllocatesNothing(t *testing.T) {
	d := New[expiring](0)
	key := []byte("known")
	insert(d, "known", 0).until = time.Hour
	if n := testing.AllocsPerRun(100, func() {
		sh := d.Lock(key)
		sh.GetLocked(key).until++
		sh.Unlock()
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
