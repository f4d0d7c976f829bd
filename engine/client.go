package engine

import (
	"bytes"
	"strconv"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicegw/sluice/balancer"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// phase is where a client connection is in its request/response cycle.
type phase uint8

const (
	phaseIdle    phase = iota // between requests, no byte of the next yet
	phaseHead                 // part of a request head received
	phaseProxy                // request dispatched; exchange in progress
	phaseDiscard              // response sent; reading and dropping the rest of the request body
	phaseClosing              // closing once the outbound buffer drains
)

// clientConn is one client connection's state. Loop-only; lives from OnOpen
// until the outermost handler returns after OnClose, then goes back to the
// loop's free list (gen changes, so stale references can tell).
//
// Re-entrancy: gnet may call OnClose inside a Write (a failed write closes
// at once), and an upstream may close while a client handler is running.
// Every entry point brackets its work with enter/leave; such events only set
// flags (closed, upLost) and leave acts on them once the outermost handler
// is done, so no code runs on state that vanished under it.
type clientConn struct {
	c            gnet.Conn
	l            *loop
	gen          uint32
	lprev, lnext *clientConn // the loop's list of clients

	depth     int  // handlers on the stack
	closed    bool // gnet closed the connection: c must not be used
	upLost    bool // the upstream closed during a handler; handled in leave
	again     bool // buffered bytes may hold another request; parsed in leave
	lingering bool // write side shut; dropping input until the client closes

	remoteArr [48]byte
	portArr   [8]byte
	trusted   bool // the peer is in Options.TrustedAddresses

	phase   phase
	scan    http1.HeadScanner
	rc      reqctx.Ctx // the request as plugins see it; its head is a copy
	headEnd int        // bytes of buffered input up to the end of the request head
	headOff int        // first byte of the head (after skipped empty lines)

	// The exchange (dispatch.go): route, plugin chains, where the stage
	// runner is, the upstream chosen.
	dispatched bool // a request was dispatched: its log phase is owed
	rejected   bool // refused before dispatch (reject): owed an access log line only
	logged     bool
	route      *cfgsync.Route
	routeUp    *cfgsync.Upstream // the route's upstream, as the request's snapshot has it
	upstream   *cfgsync.Upstream // the route's, or a plugin's choice
	globals    *plugin.Chain     // global rules of the snapshot the request was routed on
	chain      *plugin.Chain     // the route's plugins, with the consumer's merged in
	stage      stage
	hook       int  // next hook of the stage (a parked request resumes there)
	parked     bool // a Job of this request is out on the worker pool

	tmo          cfgsync.Timeouts // the upstream timeouts, defaults applied
	node         int              // index of the node in upstream.Nodes
	tried        balancer.Set     // nodes tried for this request
	pick         balancer.Request // what the balancer is asked, reused
	stats        statsView        // pick.Stats: the loop's statistics of the upstream's nodes
	key          []byte           // chash key (pick.Key)
	attempts     int              // attempts after the first (retries used)
	attemptLive  bool             // an attempt is open: NodeStats.Finished is owed (attempt.go)
	reported     bool             // the open attempt's outcome went to the health checker
	attemptStart int64            // balancer.Now() when the attempt began
	firstStart   int64            // balancer.Now() when the first attempt began (retry_timeout)

	// The request body (reqbody.go).
	reqBody  http1.Body
	bodyDone bool  // request body fully framed and forwarded (or none)
	headSent bool  // request head on an established upstream; input discarded up to it
	held     int   // client input written upstream but kept until the connect completes
	bodySeen int64 // body data bytes framed
	dropped  int64 // body bytes read and dropped after the response (phaseDiscard)

	up      *upConn // upstream the exchange runs on
	pending *upConn // upstream being dialled

	// The response (response.go, reply.go).
	respBody    http1.Body
	respStarted bool // response head built (and sent, unless headPending)
	headPending bool // the response head waits in loop scratch for the first body bytes
	dechunk     bool // HTTP/1.0 client, chunked response: forward data only
	rewrite     bool // body filters rewrite the body: decoded, filtered, framed anew
	observe     bool // body filters only watch the body go by
	closeAfter  bool // close once the current response is out
	upPaused    bool // we paused the upstream: our outbound is over high water
	paused      bool // we paused reading this client

	replay   []byte // the request body kept to send again on a retry (attempt.go)
	canRetry bool   // the request went out whole, idempotent, and replay holds its body
	retried  bool   // the attempt moved once from a stale pooled connection

	timer     timerNode
	timerKind clientTimer
}

type clientTimer uint8

const (
	timerHeader    clientTimer = iota // client_header_timeout
	timerKeepalive                    // keepalive_timeout
	timerBody                         // client_body_timeout
	timerSend                         // send_timeout (response or lingering close)
	timerDiscard                      // Options.DiscardTimeout: the rest of a body after the response
)

// openClient sets up state for a newly accepted connection.
func (l *loop) openClient(c gnet.Conn) {
	var cc *clientConn
	if n := len(l.freeClients); n > 0 {
		cc = l.freeClients[n-1]
		l.freeClients = l.freeClients[:n-1]
	} else {
		cc = &clientConn{l: l}
		cc.timer.owner = cc
		cc.rc.Loop = &l.plugins
		cc.stats.l = l
		cc.pick.Stats = &cc.stats
	}
	cc.c = c
	rc := &cc.rc
	rc.RemoteAddr, rc.RemotePort = addrOf(c.RemoteAddr())
	rc.RemoteText = rc.RemoteAddr.AppendTo(cc.remoteArr[:0])
	var localPort int
	rc.LocalAddr, localPort = addrOf(c.LocalAddr())
	rc.LocalPort = strconv.AppendInt(cc.portArr[:0], int64(localPort), 10)
	cc.trusted = false
	for _, p := range l.s.opts.TrustedAddresses {
		if p.Contains(rc.RemoteAddr) {
			cc.trusted = true
			break
		}
	}
	cc.phase = phaseIdle
	cc.closed, cc.lingering = false, false
	cc.resetExchange()
	cc.lprev, cc.lnext = l.clients.lprev, &l.clients
	l.clients.lprev.lnext = cc
	l.clients.lprev = cc
	l.numClients++
	l.s.stats.ClientsOpen.Add(1)
	c.SetContext(cc)
	cc.armTimer(timerHeader, l.s.opts.ClientHeaderTimeout)
}

// release returns cc to the loop's free list once gnet has closed it and no
// handler is running. A request it was serving gets its log phase now
// (status 499 if no response had started: the client went away).
func (cc *clientConn) release() {
	l := cc.l
	l.wheel.cancel(&cc.timer)
	if cc.dispatched && !cc.logged {
		if !cc.respStarted || cc.headPending {
			cc.rc.Status = statusClientClosed
		}
		cc.logRequest()
	}
	cc.detachUpstream()
	cc.lprev.lnext = cc.lnext
	cc.lnext.lprev = cc.lprev
	cc.lprev, cc.lnext = nil, nil
	l.numClients--
	l.s.stats.ClientsOpen.Add(-1)
	cc.c = nil
	cc.resetExchange()
	cc.gen++
	if cap(cc.replay) > maxReplayBody {
		cc.replay = nil
	}
	l.freeClients = append(l.freeClients, cc)
}

// statusClientClosed is nginx's 499: the client closed before the response.
const statusClientClosed = 499

func (cc *clientConn) enter() { cc.depth++ }

// leave ends a handler; the outermost one acts on deferred events.
func (cc *clientConn) leave() {
	if cc.depth > 1 {
		cc.depth--
		return
	}
	for !cc.closed && (cc.upLost || cc.again) {
		if cc.upLost {
			cc.upLost = false
			cc.upstreamLost()
			continue
		}
		cc.again = false
		cc.readHead()
	}
	cc.depth = 0
	if cc.closed {
		cc.release()
	}
}

// resetExchange clears per-request state for the next request.
func (cc *clientConn) resetExchange() {
	cc.endAttempt()
	cc.scan.Reset()
	cc.rc.Reset()
	cc.dispatched, cc.rejected, cc.logged, cc.parked = false, false, false, false
	cc.route, cc.routeUp, cc.upstream, cc.globals, cc.chain = nil, nil, nil, nil, nil
	cc.stage, cc.hook = 0, 0
	cc.tried.Reset()
	cc.attempts = 0
	cc.bodyDone, cc.headSent, cc.held, cc.bodySeen, cc.dropped = false, false, 0, 0, 0
	cc.respStarted, cc.headPending, cc.dechunk, cc.closeAfter, cc.upPaused = false, false, false, false, false
	cc.rewrite, cc.observe = false, false
	cc.canRetry, cc.retried = false, false
	cc.headEnd, cc.headOff = 0, 0
}

func (cc *clientConn) armTimer(kind clientTimer, d time.Duration) {
	cc.timerKind = kind
	cc.l.wheel.arm(&cc.timer, cc.l.ticks(d))
}

func (cc *clientConn) onTimeout() {
	cc.enter()
	// nginx closes without a response for all of these (its 408 is never
	// sent).
	cc.closeNow()
	cc.leave()
}

// onReadable handles new bytes from the client.
func (cc *clientConn) onReadable() {
	switch cc.phase {
	case phaseIdle, phaseHead:
		cc.readHead()
	case phaseProxy:
		if cc.headSent && !cc.bodyDone {
			cc.forwardBody()
			return
		}
		cc.holdInput()
	case phaseDiscard:
		cc.discardBody()
	case phaseClosing:
		_, _ = cc.c.Discard(-1) // whatever arrives while closing is ignored
	}
}

// holdInput bounds the bytes a client can queue while its request is in
// flight (pipelining, or sending during the upstream dial or while a plugin
// waits): beyond MaxBufferedInput reading pauses until the exchange moves on.
func (cc *clientConn) holdInput() {
	if !cc.paused && cc.c.InboundBuffered() > cc.l.s.opts.MaxBufferedInput {
		if cc.c.PauseRead() == nil {
			cc.paused = true
		}
	}
}

func (cc *clientConn) resumeInput() {
	if cc.paused {
		cc.paused = false
		_ = cc.c.ResumeRead() // fails only on a closed conn, which OnClose handles
	}
}

func (cc *clientConn) onClosed() { cc.closed = true }

// onDrained: the client took everything queued for it.
func (cc *clientConn) onDrained() {
	switch {
	case cc.phase == phaseClosing:
		cc.lingerOrClose()
	case cc.upPaused && cc.up != nil:
		cc.upPaused = false
		cc.l.wheel.cancel(&cc.timer)
		cc.up.resumeRead()
	}
}

// readHead scans buffered input for a complete request head, copies it into
// the request context (every phase, log included, reads it there) and
// dispatches the request.
func (cc *clientConn) readHead() {
	buf, _ := cc.c.Peek(-1)
	if len(buf) == 0 {
		return
	}
	opts := &cc.l.s.opts
	if cc.phase == phaseIdle {
		cc.phase = phaseHead
		cc.armTimer(timerHeader, opts.ClientHeaderTimeout)
	}
	start, end, err := cc.scan.Scan(buf, &opts.Limits, false)
	if err != nil {
		cc.rejectHead(err, buf)
		return
	}
	if end == 0 {
		return
	}
	rc := &cc.rc
	rc.Head = append(rc.Head[:0], buf[start:end]...)
	if err := rc.Req.Parse(rc.Head, &opts.Limits); err != nil {
		cc.rejectHead(err, rc.Head)
		return
	}
	cc.headOff, cc.headEnd = start, end
	cc.phase = phaseProxy
	cc.l.wheel.cancel(&cc.timer)
	cc.dispatch(buf)
}

// maxRejectedLine bounds the request line kept for the access log of a
// head the gateway refused (a 414's line can be as long as the head limit).
const maxRejectedLine = 2048

var carriageReturn = []byte{'\r'}

// rejectHead answers a request head that cannot be read (400, 414, 431,
// 501, 505) and closes. nginx logs such a request with what it read of the
// request line; APISIX's phases never start, so no plugin runs, but the
// access log gets the request (logRequest).
func (cc *clientConn) rejectHead(err error, head []byte) {
	rc := &cc.rc
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, carriageReturn)
	line = line[:min(len(line), maxRejectedLine)]
	rc.Head = append(rc.Head[:0], line...) // line may alias Head: append moves
	rc.Req.Reset()
	rc.Begin(nil, nil, time.Now())
	cc.reject(http1.StatusOf(err))
}

// reject answers a request refused before routing with the error page for
// status and closes; unlike other answers before dispatch it is logged.
func (cc *clientConn) reject(status int) {
	cc.rejected = true
	cc.replyError(status, true)
}

// write sends b to the client; false means the connection closed during the
// write and the caller must stop.
func (cc *clientConn) write(b []byte) bool {
	if _, err := cc.c.Write(b); err != nil || cc.closed {
		return false
	}
	cc.rc.BytesSent += int64(len(b))
	return true
}

// detachUpstream ends the open attempt (the exchange ends without it) and
// drops the exchange's upstream (closing it: its state is unknown) and any
// dial in progress.
func (cc *clientConn) detachUpstream() {
	cc.endAttempt()
	cc.dropUpstream()
}

// closeGraceful closes once everything queued for the client is sent.
func (cc *clientConn) closeGraceful() {
	if cc.closed {
		return
	}
	cc.phase = phaseClosing
	if cc.c.OutboundBuffered() == 0 {
		cc.lingerOrClose()
		return
	}
	cc.armTimer(timerSend, cc.l.s.opts.SendTimeout)
}

// lingerOrClose closes a connection whose response is out. If the client
// may still be sending (a request body the gateway stopped reading),
// closing at once would make the kernel answer its bytes with a reset,
// which can destroy the response before the client reads it; so, as
// nginx's lingering close, the write side is shut and input is read and
// dropped until the client closes or Options.DiscardTimeout passes.
func (cc *clientConn) lingerOrClose() {
	if cc.bodyDone || cc.lingering {
		cc.closeNow()
		return
	}
	if err := shutdownWrite(cc.c.Fd()); err != nil {
		cc.closeNow()
		return
	}
	cc.lingering = true
	_, _ = cc.c.Discard(-1)
	cc.resumeInput()
	cc.armTimer(timerDiscard, cc.l.s.opts.DiscardTimeout)
}

// closeNow closes the client connection; OnClose runs inside this call.
func (cc *clientConn) closeNow() {
	if cc.closed {
		return
	}
	cc.detachUpstream()
	_ = cc.l.el.Close(cc.c) // closing an open conn on its own loop cannot fail
	cc.closed = true
}
