package engine

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicegw/sluice/balancer"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/plugin"
	cfgsync "github.com/sluicegw/sluice/sync"
	"github.com/sluicegw/sluice/trie"
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
	lingering bool // write side shut; dropping input until the client closes
	again     bool // buffered bytes may hold another request; parsed in leave

	remote     netip.Addr
	remotePort int
	remoteArr  [48]byte
	remoteText []byte // remote IP as text, in remoteArr
	portArr    [8]byte
	localPort  []byte // listener port as text, in portArr
	trusted    bool   // remote is in Options.TrustedAddresses

	phase   phase
	scan    http1.HeadScanner
	req     http1.Request
	headEnd int // bytes of buffered input up to the end of the request head
	headOff int // first byte of the head (after skipped empty lines)

	route    *cfgsync.Route
	globals  *plugin.Chain    // global rules of the snapshot the request was routed on
	tmo      cfgsync.Timeouts // the route's upstream timeouts, defaults applied
	node     int              // index of the node in route.Upstream.Nodes
	tried    balancer.Set     // nodes tried for this request
	pick     balancer.Request // what the balancer is asked, reused
	attempts int              // connect attempts after the first

	reqBody  http1.Body
	bodyDone bool // request body fully framed and forwarded (or none)
	headSent bool // request head on an established upstream; input discarded up to it
	held     int  // client input written upstream but kept until the connect completes
	bodySeen int64
	dropped  int64 // request body bytes read and dropped after the response (phaseDiscard)

	up      *upConn // upstream the exchange runs on
	pending *upConn // upstream being dialled

	respBody    http1.Body
	respStarted bool // response head built (and sent, unless headPending)
	headPending bool // the response head waits in loop scratch for the first body bytes
	dechunk     bool // HTTP/1.0 client, chunked response: forward data only
	closeAfter  bool // close once the current response is out
	upPaused    bool // we paused the upstream: our outbound is over high water
	paused      bool // we paused reading this client

	retry    []byte // request bytes kept to resend on a stale pooled connection
	canRetry bool
	retried  bool

	vars requestVars // expr variables of the request being routed (dispatch only)

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

// maxRetryCopy bounds the request bytes kept for a retry on a stale pooled
// connection; larger requests are not retried.
const maxRetryCopy = 16 << 10

var slash = []byte("/")

// openClient sets up state for a newly accepted connection.
func (l *loop) openClient(c gnet.Conn) {
	var cc *clientConn
	if n := len(l.freeClients); n > 0 {
		cc = l.freeClients[n-1]
		l.freeClients = l.freeClients[:n-1]
	} else {
		cc = &clientConn{l: l}
		cc.timer.owner = cc
	}
	cc.c = c
	cc.remote, cc.remotePort = remoteOf(c.RemoteAddr())
	cc.remoteText = cc.remote.AppendTo(cc.remoteArr[:0])
	cc.localPort = strconv.AppendInt(cc.portArr[:0], int64(localPortOf(c.LocalAddr())), 10)
	cc.trusted = false
	for _, p := range l.s.opts.TrustedAddresses {
		if p.Contains(cc.remote) {
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
// handler is running.
func (cc *clientConn) release() {
	l := cc.l
	l.wheel.cancel(&cc.timer)
	if up := cc.up; up != nil {
		cc.up = nil
		l.closeUp(up)
	}
	if p := cc.pending; p != nil {
		cc.pending = nil
		p.owner = nil // the dial completes into the idle pool
	}
	cc.lprev.lnext = cc.lnext
	cc.lnext.lprev = cc.lprev
	cc.lprev, cc.lnext = nil, nil
	l.numClients--
	l.s.stats.ClientsOpen.Add(-1)
	cc.c = nil
	cc.route = nil
	cc.gen++
	if cap(cc.retry) > maxRetryCopy {
		cc.retry = nil
	}
	l.freeClients = append(l.freeClients, cc)
}

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
	cc.scan.Reset()
	cc.route, cc.globals = nil, nil
	cc.tried.Reset()
	cc.attempts = 0
	cc.bodyDone, cc.headSent, cc.held, cc.bodySeen, cc.dropped = false, false, 0, 0, 0
	cc.respStarted, cc.headPending, cc.dechunk, cc.closeAfter, cc.upPaused = false, false, false, false, false
	cc.canRetry, cc.retried = false, false
	cc.headEnd, cc.headOff = 0, 0
}

func (cc *clientConn) armTimer(kind clientTimer, d time.Duration) {
	cc.timerKind = kind
	cc.l.wheel.arm(&cc.timer, cc.l.ticks(d))
}

func (cc *clientConn) onTimeout() {
	cc.enter()
	switch cc.timerKind {
	case timerHeader, timerKeepalive, timerBody, timerSend, timerDiscard:
		// nginx closes without a response for these (its 408 is never sent).
		cc.closeNow()
	}
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
// flight (pipelining, or sending during the upstream dial): beyond
// MaxBufferedInput reading pauses until the exchange finishes.
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

// readHead scans buffered input for a complete request head and dispatches it.
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
		cc.replyError(http1.StatusOf(err), true)
		return
	}
	if end == 0 {
		return
	}
	head := buf[start:end]
	if err := cc.req.Parse(head, &opts.Limits); err != nil {
		cc.replyError(http1.StatusOf(err), true)
		return
	}
	cc.headOff, cc.headEnd = start, end
	cc.phase = phaseProxy
	cc.l.wheel.cancel(&cc.timer)
	cc.dispatch(buf)
}

// dispatch routes a parsed request (its head is buf[headOff:headEnd]) and
// starts the upstream exchange.
func (cc *clientConn) dispatch(buf []byte) {
	l := cc.l
	opts := &l.s.opts
	head := buf[cc.headOff:cc.headEnd]
	cc.reqBody.Reset(cc.req.Body, cc.req.ContentLength, &opts.Limits)
	cc.bodyDone = cc.reqBody.Done()

	path := cc.req.Path.Of(head)
	if len(path) == 0 {
		path = slash
	}
	if http1.PathNeedsNormalizing(path) {
		p, err := http1.NormalizePath(l.path[:0], path)
		l.path = p[:0]
		if err != nil {
			cc.replyError(http.StatusBadRequest, true)
			return
		}
		path = p
	}
	host := lowerHost(l, cc.req.HostName.Of(head))
	rev := l.hostRev[:0]
	for i := len(host) - 1; i >= 0; i-- {
		rev = append(rev, host[i])
	}
	l.hostRev = rev[:0]
	// The query lives in the loop: matching is synchronous, and a stack
	// value would escape through cc.vars.params.
	q := &l.query
	*q = trie.Query{
		Path:       path,
		Host:       host,
		HostRev:    rev,
		HostHeader: cc.req.Host.Of(head),
		Method:     cc.req.Method.Bit(),
		RemoteAddr: cc.remote,
		Vars:       &cc.vars,
	}
	cc.vars = requestVars{cc: cc, head: head, uri: path, params: &q.Params}
	if cc.req.Body == http1.BodyLength && int64(len(buf)-cc.headEnd) >= cc.req.ContentLength {
		cc.vars.body = buf[cc.headEnd : int64(cc.headEnd)+cc.req.ContentLength]
	}
	snap := l.s.store.Load() // once per request: every phase sees this snapshot
	cc.globals = snap.GlobalRules
	route := snap.Match(q)
	cc.route = route
	// Rewrite and access hooks may read request variables (uri_param_*
	// among them), so they stay until those phases are done; they point
	// into the read buffer and the loop's query, so not a moment longer.
	st := cc.runPhases(plugin.Rewrite, plugin.Access)
	cc.vars, q.Vars = requestVars{}, nil
	if st > 0 {
		cc.replyError(st, false)
		return
	}
	if route == nil {
		cc.reply(&http1.Reply{Status: http.StatusNotFound, ContentType: textPlain, Body: routeNotFoundBody})
		return
	}
	if route.Status != 0 {
		cc.replyError(route.Status, false)
		return
	}
	cc.tmo = cc.resolveTimeouts()
	cc.connect()
}

// runPhases runs each phase for the global rules, then for the route (if
// one matched); the first positive status ends the request.
func (cc *clientConn) runPhases(phases ...plugin.Phase) int {
	for _, p := range phases {
		if st := cc.globals.Run(p, cc); st > 0 {
			return st
		}
		if cc.route != nil {
			if st := cc.route.Plugins.Run(p, cc); st > 0 {
				return st
			}
		}
	}
	return 0
}

// lowerHost returns host lower-cased, copying (into the loop's host
// buffer) only when it has upper case.
func lowerHost(l *loop, host []byte) []byte {
	for i, c := range host {
		if 'A' <= c && c <= 'Z' {
			b := append(l.host[:0], host...)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			l.host = b[:0]
			return b
		}
	}
	return host
}

// connect picks a node and gets a connection to it: an idle pooled one, or
// a new dial.
func (cc *clientConn) connect() {
	l := cc.l
	u := cc.route.Upstream
	cc.pick.Tried = &cc.tried
	idx := u.Picker.Pick(&l.upstream(u).pick, &cc.pick)
	if idx < 0 {
		cc.replyError(http.StatusBadGateway, false)
		return
	}
	cc.node = idx
	cc.tried.Add(idx)
	node := &u.Nodes[idx]
	if n := l.node(node.Ref); n != nil {
		if up := n.pool.get(); up != nil {
			l.wheel.cancel(&up.timer)
			cc.attach(up, true)
			cc.sendRequest()
			return
		}
	}
	up := l.newUp(node.Ref)
	if node.IP.IsValid() {
		// Connect on the loop: no goroutine hop, which matters because a
		// busy loop holds its P and a dialer goroutine would wait for it.
		up.dialOnLoop = true
		_, err := l.el.DialTCP(node.IP, up) // OnOpen runs inside
		up.dialOnLoop = false
		if err != nil {
			l.releaseUp(up)
			if l.debug {
				l.s.opts.Logger.Debug("upstream connect failed", "addr", node.Addr, "err", err)
			}
			cc.connectFailed(false)
			return
		}
		cc.attach(up, false)
		up.armTimer(upTimerConnect, cc.tmo.Connect)
		cc.sendRequest()
		return
	}
	// A host name needs DNS, which blocks: dial from the dialer pool and
	// enroll the connection on this loop.
	up.owner, up.ownerGen = cc, cc.gen
	cc.pending = up
	job := &dialJob{up: up, addr: node.Addr, timeout: cc.tmo.Connect}
	select {
	case l.s.dialq <- job:
	default:
		// Every dialer is busy and the queue is full: shed load rather
		// than block the loop.
		cc.pending = nil
		l.releaseUp(up)
		cc.replyError(http.StatusBadGateway, false)
	}
}

// resolveTimeouts returns the route's upstream timeouts with the engine's
// default in the fields neither route nor upstream sets.
func (cc *clientConn) resolveTimeouts() cfgsync.Timeouts {
	t := cc.route.Timeout
	d := cc.l.s.opts.UpstreamTimeout
	if t.Connect <= 0 {
		t.Connect = d
	}
	if t.Send <= 0 {
		t.Send = d
	}
	if t.Read <= 0 {
		t.Read = d
	}
	return t
}

// attach makes up the exchange's upstream.
func (cc *clientConn) attach(up *upConn, reused bool) {
	cc.up = up
	up.owner, up.ownerGen = cc, cc.gen
	up.state = upBusy
	up.reused = reused
	up.gotBytes = false
	up.requests++
	up.scan.Reset()
}

// connectFailed handles a failed dial: another node if retries remain
// (APISIX: never the same node twice), else 502, or 504 for a timeout.
func (cc *clientConn) connectFailed(timedOut bool) {
	// The request can go elsewhere if its bytes are still at hand: client
	// input is held until a connection is established, and a retry keeps
	// its own copy.
	if cc.attempts < cc.route.Upstream.Retries && (!cc.headSent || cc.retried) {
		cc.attempts++
		cc.connect()
		return
	}
	if timedOut {
		cc.replyError(http.StatusGatewayTimeout, false)
		return
	}
	cc.replyError(http.StatusBadGateway, false)
}

// sendRequest writes the request head (and any body bytes already here) to
// the attached upstream. On a retry it resends the kept copy instead.
func (cc *clientConn) sendRequest() {
	l := cc.l
	up := cc.up
	if cc.retried && cc.headSent {
		if _, err := up.c.Write(cc.retry); err != nil {
			return // OnClose(up) ran; leave handles it
		}
		cc.requestQueued(0)
		return
	}
	buf, _ := cc.c.Peek(-1)
	head := buf[cc.headOff:cc.headEnd]
	if st := cc.runPhases(plugin.BeforeProxy); st > 0 {
		cc.replyError(st, false)
		return
	}
	out := cc.appendUpstreamRequest(l.scratch[:0], head)
	l.scratch = out[:0]
	rest := buf[cc.headEnd:]
	n := 0
	if !cc.bodyDone && len(rest) > 0 {
		var err error
		if n, err = cc.frameRequestBody(rest); err != nil {
			cc.replyError(http1.StatusOf(err), true)
			return
		}
	}
	if cc.req.Expect100 && !cc.bodyDone && n == 0 {
		if !cc.write(http1.ContinueResponse) {
			return
		}
	}
	cc.canRetry = up.reused && cc.req.Method.Idempotent() && cc.bodyDone && len(out)+n <= maxRetryCopy
	if cc.canRetry {
		cc.retry = append(append(cc.retry[:0], out...), rest[:n]...)
	}
	var err error
	if n > 0 {
		l.iov = append(l.iov[:0], out, rest[:n])
		_, err = up.c.Writev(l.iov)
		l.iov = l.iov[:0]
	} else {
		_, err = up.c.Write(out)
	}
	if err != nil {
		return // OnClose(up) ran inside the write; leave handles it
	}
	cc.requestQueued(cc.headEnd + n)
}

// requestQueued follows a write of the request to the upstream. held is the
// client input the write covered: it is discarded once the connection is
// known to be established, so a refused connect can still send the request
// to another node.
func (cc *clientConn) requestQueued(held int) {
	up := cc.up
	if !up.connected && up.c.OutboundBuffered() == 0 {
		up.connected = true // the kernel took the bytes: the handshake is done
	}
	cc.held = held
	if up.connected {
		cc.upstreamConnected()
	}
	// Otherwise the connect timer runs; the first drain or read completes it.
}

// upstreamConnected: the request reached an established connection.
func (cc *clientConn) upstreamConnected() {
	if cc.held > 0 {
		_, _ = cc.c.Discard(cc.held)
		cc.held = 0
	}
	cc.headSent = true
	cc.afterSend()
}

// afterSend arms the timers and backpressure that follow a write upstream.
func (cc *clientConn) afterSend() {
	up := cc.up
	t := &cc.tmo
	if up.c.OutboundBuffered() > 0 {
		up.armTimer(upTimerSend, t.Send)
	} else if cc.bodyDone {
		up.armTimer(upTimerRead, t.Read)
	}
	if cc.bodyDone {
		cc.l.wheel.cancel(&cc.timer)
		return
	}
	if up.c.OutboundBuffered() > cc.l.s.opts.HighWater {
		if cc.c.PauseRead() == nil {
			cc.paused = true
		}
		return
	}
	cc.armTimer(timerBody, cc.l.s.opts.ClientBodyTimeout)
}

// pumpBody forwards request body bytes that had to wait (for the connect
// to complete, or for the upstream to drain) once the upstream can take them.
func (cc *clientConn) pumpBody() {
	if cc.bodyDone || !cc.headSent || cc.up == nil || cc.closed ||
		cc.up.c.OutboundBuffered() > cc.l.s.opts.HighWater {
		return
	}
	cc.resumeInput()
	if cc.c.InboundBuffered() > 0 {
		cc.forwardBody()
		return
	}
	cc.armTimer(timerBody, cc.l.s.opts.ClientBodyTimeout)
}

// frameRequestBody runs the body framer over buf and returns how many of its
// bytes belong to the request body.
func (cc *clientConn) frameRequestBody(buf []byte) (int, error) {
	total := 0
	for total < len(buf) && !cc.reqBody.Done() {
		n, data, err := cc.reqBody.Next(buf[total:])
		if err != nil {
			return 0, err
		}
		total += n
		cc.bodySeen += int64(len(data))
	}
	if max := cc.l.s.opts.Limits.MaxBodyBytes; max > 0 && cc.bodySeen > max {
		return 0, http1.ErrBodyTooLarge
	}
	cc.bodyDone = cc.reqBody.Done()
	return total, nil
}

// forwardBody relays request body bytes that arrived after the head.
func (cc *clientConn) forwardBody() {
	buf, _ := cc.c.Peek(-1)
	n, err := cc.frameRequestBody(buf)
	if err != nil {
		cc.abort(http1.StatusOf(err))
		return
	}
	if n == 0 {
		return
	}
	if _, err := cc.up.c.Write(buf[:n]); err != nil {
		return // OnClose(up) ran; leave handles it
	}
	_, _ = cc.c.Discard(n)
	cc.afterSend()
}

// write sends b to the client; false means the connection closed during the
// write and the caller must stop.
func (cc *clientConn) write(b []byte) bool {
	if _, err := cc.c.Write(b); err != nil || cc.closed {
		return false
	}
	return true
}

// reply answers the request with a response the gateway builds itself, then
// finishes the exchange. The client connection stays open unless the
// request said otherwise or its body was not consumed.
func (cc *clientConn) reply(r *http1.Reply) {
	if cc.respStarted {
		cc.closeNow()
		return
	}
	cc.detachUpstream()
	if (!cc.settleInput() && !cc.canDiscard()) || !cc.req.KeepAlive || cc.l.s.draining.Load() {
		cc.closeAfter = true
	}
	r.Close = r.Close || cc.closeAfter
	cc.closeAfter = r.Close
	r.Server, r.Date = cc.l.s.serverHeader, cc.l.date
	r.HeadOnly = cc.req.Method == http1.MethodHead
	l := cc.l
	out := http1.AppendReply(l.scratch[:0], r)
	l.scratch = out[:0]
	cc.respStarted = true
	if !cc.write(out) {
		return
	}
	cc.finishExchange()
}

// settleInput consumes the current request's bytes that are still buffered
// because they never reached an established upstream (the gateway answers
// itself, or the connect failed): the head, and as much of the body as is
// here. It reports whether the whole request was consumed; if not, the rest
// of the body is still to come and must never be read as a request
// (canDiscard says whether it can be read and dropped, else the connection
// closes after the response).
func (cc *clientConn) settleInput() bool {
	if cc.headEnd == 0 {
		return false // the head did not parse: the input cannot be framed
	}
	if cc.headSent {
		return cc.bodyDone // forwarded bytes were discarded as they went
	}
	buf, _ := cc.c.Peek(-1)
	end := max(cc.held, cc.headEnd)
	if end > len(buf) {
		return false
	}
	if !cc.bodyDone {
		n, err := cc.frameRequestBody(buf[end:])
		if err != nil {
			cc.headEnd = 0 // unframable: only closing is safe
			return false
		}
		end += n
	}
	_, _ = cc.c.Discard(end)
	cc.held = 0
	cc.headSent = true // the input no longer holds the head
	return cc.bodyDone
}

// canDiscard reports whether the rest of an unfinished request body can be
// read and dropped after the response (nginx's discard_request_body), so the
// connection stays usable: the body is framed, not larger than
// Options.DiscardLimit when its length is known, and the client is not
// holding it back for a 100 Continue that will never come.
func (cc *clientConn) canDiscard() bool {
	if cc.headEnd == 0 || !cc.headSent || cc.bodyDone {
		return cc.bodyDone
	}
	if cc.req.Expect100 && cc.bodySeen == 0 {
		return false
	}
	switch cc.req.Body {
	case http1.BodyLength:
		return cc.reqBody.Remaining() <= cc.l.s.opts.DiscardLimit
	case http1.BodyChunked:
		return true // bounded as it goes (discardBody)
	}
	return false
}

// discardBody reads and drops request body bytes after the response went
// out. The connection is closed if the body breaks its framing or exceeds
// Options.DiscardLimit; once it ends, the next request may follow.
func (cc *clientConn) discardBody() {
	buf, _ := cc.c.Peek(-1)
	n := 0
	for n < len(buf) && !cc.reqBody.Done() {
		used, _, err := cc.reqBody.Next(buf[n:])
		if err != nil {
			cc.closeNow()
			return
		}
		n += used
	}
	_, _ = cc.c.Discard(n)
	cc.dropped += int64(n)
	if cc.dropped > cc.l.s.opts.DiscardLimit {
		cc.closeNow()
		return
	}
	if cc.reqBody.Done() {
		cc.bodyDone = true
		cc.nextRequest()
	}
}

// replyError answers with the gateway's HTML error page for status.
func (cc *clientConn) replyError(status int, close bool) {
	cc.reply(&http1.Reply{Status: status, ContentType: http1.HTMLContentType, Body: http1.ErrorPage(status), Close: close})
}

// abort ends an exchange that cannot complete cleanly: an error page if
// nothing was sent yet, otherwise the connection is closed mid-response.
func (cc *clientConn) abort(status int) {
	if cc.respStarted && !cc.headPending {
		cc.closeNow()
		return
	}
	cc.respStarted, cc.headPending = false, false
	cc.replyError(status, true)
}

// detachUpstream drops the exchange's upstream (closing it: its state is
// unknown) and any dial in progress.
func (cc *clientConn) detachUpstream() {
	if up := cc.up; up != nil {
		cc.up = nil
		cc.l.closeUp(up)
	}
	if p := cc.pending; p != nil {
		cc.pending = nil
		p.owner = nil
	}
}

// finishExchange ends the current request: close, drop the rest of its
// body, or get ready for the next one (which may already be buffered:
// pipelining). Body bytes are never parsed as a request.
func (cc *clientConn) finishExchange() {
	cc.runPhases(plugin.Log)
	if cc.closeAfter || cc.l.s.draining.Load() {
		cc.closeGraceful()
		return
	}
	if !cc.bodyDone {
		// The response ended before the request body (an upstream's early
		// 401 or 413): what the client still sends is body, not requests.
		if !cc.canDiscard() {
			cc.closeGraceful()
			return
		}
		cc.phase = phaseDiscard
		cc.armTimer(timerDiscard, cc.l.s.opts.DiscardTimeout)
		cc.resumeInput()
		cc.discardBody()
		return
	}
	cc.nextRequest()
}

// nextRequest readies the connection for its next request.
func (cc *clientConn) nextRequest() {
	cc.resetExchange()
	cc.phase = phaseIdle
	cc.resumeInput()
	if cc.c.InboundBuffered() > 0 {
		cc.again = true // parsed by the outermost handler (leave), not recursively
		return
	}
	cc.armTimer(timerKeepalive, cc.l.s.opts.KeepaliveTimeout)
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

var (
	textPlain         = []byte("text/plain; charset=utf-8")
	routeNotFoundBody = []byte("{\"error_msg\":\"404 Route Not Found\"}\n")
)
