package reqctx

// Result is how a rewrite, access or before_proxy hook ends.
type Result uint8

const (
	// Continue runs the next hook.
	Continue Result = iota
	// Stop ends the request with the response the hook set (Exit).
	Stop
	// Parked means the hook handed blocking work to a Job (Park); the
	// request resumes on its loop when the job is done.
	Parked
)

func (r Result) String() string {
	switch r {
	case Continue:
		return "continue"
	case Stop:
		return "stop"
	case Parked:
		return "parked"
	}
	return "invalid"
}

// Job is work a hook cannot do on the event loop (a Redis round trip, an
// auth call). The engine runs it on a bounded worker pool and comes back to
// the request's loop.
type Job interface {
	// Run does the blocking work on a worker goroutine. It must not touch
	// the Ctx (which belongs to the loop); it keeps its inputs and results
	// in the Job itself.
	Run()
	// Resume runs on the request's loop after Run, and ends the hook as a
	// hook's Result would (it may call Exit, or Park again). c is nil when
	// the request is gone (the client closed meanwhile): the job only
	// cleans up then.
	Resume(c *Ctx) Result
}
