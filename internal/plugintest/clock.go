package plugintest

import (
	"sync"
	"time"
)

// Clock is a monotonic clock a test moves by hand, for the stores that
// take one (limit-count's Store, limit-req's Buckets): pass its Now. It
// starts at zero. Safe from any goroutine.
type Clock struct {
	mu  sync.Mutex // guards now
	now time.Duration
}

// Now returns the clock's time.
func (c *Clock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
}
