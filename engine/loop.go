package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// loop is the state one gnet event loop owns. Everything in it is touched
// only by that loop's goroutine (STYLE rule 12: memory belongs to a loop).
type loop struct {
	s     *Server
	el    gnet.EventLoop
	id    int  // index of the loop, for reporting
	debug bool // the logger takes debug records: only then are their fields built

	wheel timerWheel
	tick  int64  // coarse clock, in Options.Tick units since the server started
	date  []byte // Date header value, refreshed each second
	dateS int64  // unix second date was rendered for

	// nodes and ups hold the loop's per-node and per-upstream state,
	// indexed by Ref.Slot (nodes.go). The loop sizes them itself: nothing
	// in a snapshot is sized by the number of loops.
	nodes      []*loopNode
	ups        []*loopUpstream
	staleUp    loopUpstream
	retired    []cfgsync.Ref // scratch for sweepRetired
	retiredSeq uint64
	surplus    []*loopNode // nodes whose idle pool is over its size (trimSurplus)

	// plugins is the loop's storage for plugins (reqctx.Loop): every
	// request context on this loop points at it.
	plugins reqctx.Loop

	// Scratch buffers, reused by every request on this loop. gnet copies
	// what a socket does not take, so handing them to Write is safe.
	scratch   []byte   // heads being built
	extra     []byte   // header lines plugins add to a gateway answer
	filtered  []byte   // a gateway answer's body after body filters
	chunkHead []byte   // chunk-size line of a rewritten body
	path      []byte   // normalised request path
	host      []byte   // lower-cased request host
	hostRev   []byte   // the host reversed (host-first routing)
	iov       [][]byte // Writev vectors

	freeClients []*clientConn
	freeUps     []*upConn

	// clients links every open client connection (sentinel: its own
	// lprev/lnext), so draining can find the idle ones.
	clients    clientConn
	numClients int
}

func newLoop(s *Server, el gnet.EventLoop, id int) *loop {
	l := &loop{
		s:       s,
		el:      el,
		id:      id,
		plugins: reqctx.Loop{ID: id},
		scratch: make([]byte, 0, 4096),
		path:    make([]byte, 0, 512),
		host:    make([]byte, 0, 256),
		hostRev: make([]byte, 0, 256),
		iov:     make([][]byte, 0, 4),
	}
	l.debug = s.opts.Logger.Enabled(context.Background(), slog.LevelDebug)
	l.clients.lprev, l.clients.lnext = &l.clients, &l.clients
	l.tick = s.ticksSinceStart()
	l.wheel.init(l.tick)
	l.refreshDate(time.Now())
	return l
}

// ticks converts a duration to wheel ticks, rounding up.
func (l *loop) ticks(d time.Duration) int64 {
	t := l.s.opts.Tick
	return int64((d + t - 1) / t)
}

// onTick runs on the loop (via EventLoop.Execute from the server ticker):
// advance the clock and the timers, refresh the Date header, and, when the
// server is draining, close idle client connections.
func (l *loop) onTick(now time.Time) {
	l.tick = l.s.ticksSinceStart()
	l.wheel.advance(l.tick)
	l.refreshDate(now)
	l.sweepRetired()
	l.trimSurplus()
	if l.s.draining.Load() {
		l.drainIdle()
	}
	l.s.reportLoop(l.id, l.numClients)
}

func (l *loop) refreshDate(now time.Time) {
	if sec := now.Unix(); sec != l.dateS {
		l.dateS = sec
		l.date = http1.AppendDate(l.date[:0], now)
	}
}

// drainIdle closes client connections waiting for a request; busy ones
// close after their current response (finishExchange checks draining).
func (l *loop) drainIdle() {
	for cc := l.clients.lnext; cc != &l.clients; {
		next := cc.lnext
		if cc.phase == phaseIdle {
			cc.enter()
			cc.closeNow()
			cc.leave()
		}
		cc = next
	}
}
