package health

import (
	"context"
	"log/slog"
)

// EventListener receives what checkers do. Every callback is optional and
// is called from a checker's own goroutines, never from an event loop or
// with a lock held; a callback must not block for long (it delays that
// checker's probes).
type EventListener struct {
	// ProbesStarted and ProbesStopped bracket the life of one checker
	// group's goroutine (an owner's checkers sharing one checks config).
	ProbesStarted func(owner string)
	ProbesStopped func(owner string)
	// ProbeDone is called after each active probe is counted.
	ProbeDone func(ProbeResult)
	// StateChanged is called when a target's state changes. Changes that
	// follow each other closely may arrive merged (healthy to unhealthy
	// without the mostly_healthy between).
	StateChanged func(StateChange)
	// DownChanged is called after a checker published a new Down set.
	DownChanged func(DownChange)
}

// ProbeResult is one active probe.
type ProbeResult struct {
	Owner   string
	Target  string  // the probed address, host:port
	Outcome Outcome // TCPFailure, Timeout, an HTTP status (0: unparsable status line), or a tcp probe's success
	State   State   // the target's state after counting it
}

// StateChange is a target's move from one state to another.
type StateChange struct {
	Owner    string
	Target   string // host:port
	Hostname string
	From, To State
}

// DownChange is a checker's new Down set.
type DownChange struct {
	Owner string
	Nodes []string // the checker's nodes, as Acquire was given them
	Down  []int    // indexes into Nodes now down, ascending
}

// LoggingListener logs state changes that move a target in or out of
// traffic: going down at warn, coming back at info. Probes and counter
// increments are not logged (APISIX logs each increment at warn; with many
// upstreams that drowns everything else).
func LoggingListener(lg *slog.Logger) EventListener {
	if lg == nil {
		return EventListener{}
	}
	return EventListener{
		StateChanged: func(c StateChange) {
			if c.From.Down() == c.To.Down() {
				return
			}
			level, msg := slog.LevelInfo, "upstream node healthy again"
			if c.To.Down() {
				level, msg = slog.LevelWarn, "upstream node unhealthy"
			}
			lg.Log(context.Background(), level, msg, "owner", c.Owner, "target", c.Target, "hostname", c.Hostname, "from", c.From.String(), "to", c.To.String())
		},
	}
}
