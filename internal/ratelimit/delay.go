package ratelimit

import (
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// MaxDelayed bounds how many requests may wait out a limit-req or
// limit-conn delay at once, process-wide. APISIX's ngx.sleep costs a
// coroutine; here a waiting request holds one of the engine's workers
// (engine.DefaultWorkers is 256), so past this many the plugins reject
// instead of delaying, and Redis calls always find a free worker.
const MaxDelayed = 128

// delaying counts the requests sleeping now (a semaphore over MaxDelayed).
var delaying atomic.Int32

var delayPool = stdsync.Pool{New: func() any { return new(delayJob) }}

// Delay parks the request for d off the loop; it continues with the next
// hook afterwards. It returns false, leaving the request alone, when
// MaxDelayed requests are already waiting: the caller rejects it then.
func Delay(c *reqctx.Ctx, d time.Duration) (reqctx.Result, bool) {
	if delaying.Add(1) > MaxDelayed {
		delaying.Add(-1)
		return reqctx.Continue, false
	}
	j := delayPool.Get().(*delayJob)
	j.d = d
	return c.Park(j), true
}

// delayJob is a Delay on its way through the worker pool.
type delayJob struct{ d time.Duration }

// Run sleeps on the worker goroutine.
func (j *delayJob) Run() { time.Sleep(j.d) }

// Resume continues the request (or, when it is gone, only recycles). The
// engine calls it exactly once, also for a job it could not queue (without
// Run), so the semaphore is released here.
func (j *delayJob) Resume(c *reqctx.Ctx) reqctx.Result {
	delaying.Add(-1)
	delayPool.Put(j)
	return reqctx.Continue
}

var _ reqctx.Job = (*delayJob)(nil)

// Delayed returns how long a job Delay parked waits, or 0 for any other
// job (the plugins' tests check their delays with it, without sleeping).
func Delayed(j reqctx.Job) time.Duration {
	if d, ok := j.(*delayJob); ok {
		return d.d
	}
	return 0
}
