package engine

import (
	"net/http"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/plugin"
	cfgsync "github.com/sluicegw/sluice/sync"
)

type upState uint8

const (
	upDialing upState = iota // dial in progress; c is nil
	upBusy                   // carrying an exchange for owner
	upIdle                   // in its node's idle pool
	upClosing                // being closed by us; OnClose must not react
)

// upConn is one upstream connection's state. It lives on the loop of the
// client that dialled it, and is reused from the loop's free list. Loop-only.
type upConn struct {
	c          gnet.Conn
	l          *loop
	node       cfgsync.Ref
	state      upState
	owner      *clientConn // the exchange's client while busy (and while dialling)
	ownerGen   uint32      // owner.gen when attached: a recycled owner does not match
	reused     bool        // came from the pool for the current exchange
	dialOnLoop bool        // DialTCP in progress: OnOpen only records the conn
	connected  bool        // the TCP handshake is known to be complete
	gotBytes   bool        // some response byte arrived for the current exchange
	paused     bool        // reading paused (client backpressure)
	requests   int         // exchanges carried so far

	scan http1.HeadScanner
	resp http1.Response

	timer     timerNode
	timerKind upTimer

	pprev, pnext *upConn   // idle pool links
	pooled       *idlePool // the pool holding it, when idle
}

type upTimer uint8

const (
	upTimerConnect upTimer = iota // handshake not complete (proxy_connect_timeout)
	upTimerSend                   // request bytes not taken (proxy_send_timeout)
	upTimerRead                   // no response bytes (proxy_read_timeout)
	upTimerIdle                   // idle in the pool (keepalive_pool.idle_timeout)
)

func (l *loop) newUp(node cfgsync.Ref) *upConn {
	var up *upConn
	if n := len(l.freeUps); n > 0 {
		up = l.freeUps[n-1]
		l.freeUps = l.freeUps[:n-1]
	} else {
		up = &upConn{l: l}
		up.timer.owner = up
	}
	up.node = node
	up.state = upDialing
	up.requests = 0
	up.paused = false
	up.connected = false
	return up
}

// releaseUp returns a closed (or never opened) upstream to the free list.
func (l *loop) releaseUp(up *upConn) {
	l.wheel.cancel(&up.timer)
	if up.pooled != nil {
		up.pooled.remove(up)
	}
	up.c = nil
	up.owner = nil
	l.freeUps = append(l.freeUps, up)
}

// closeUp closes an upstream connection we no longer want and releases it.
func (l *loop) closeUp(up *upConn) {
	up.state = upClosing
	up.owner = nil
	if up.c != nil {
		_ = l.el.Close(up.c) // runs OnClose now, which ignores upClosing
		l.s.stats.UpstreamsOpen.Add(-1)
	}
	l.releaseUp(up)
}

// poolUp files a connection whose exchange finished cleanly as idle, in
// the pool of its node; a connection to a node that left the configuration
// is closed instead.
func (l *loop) poolUp(up *upConn, keep keepalive) {
	n := l.node(up.node)
	if n == nil || keep.size < 0 {
		l.closeUp(up)
		return
	}
	up.state = upIdle
	up.owner = nil
	up.armTimer(upTimerIdle, keep.idle)
	if evicted := n.pool.put(up, keep.size); evicted != nil {
		l.closeUp(evicted)
	}
}

func (up *upConn) armTimer(kind upTimer, d time.Duration) {
	up.timerKind = kind
	up.l.wheel.arm(&up.timer, up.l.ticks(d))
}

// ownerOf returns the client this upstream works for, or nil if that client
// is gone (its state recycled).
func (up *upConn) ownerOf() *clientConn {
	if o := up.owner; o != nil && o.gen == up.ownerGen && !o.closed {
		return o
	}
	return nil
}

// onOpen: a dial completed and gnet registered the connection on our loop.
func (up *upConn) onOpen(c gnet.Conn) {
	up.c = c
	up.l.s.stats.UpstreamsOpen.Add(1)
	if up.dialOnLoop {
		return // DialTCP's caller carries on
	}
	up.connected = true // net.Dial returned a connected socket
	cc := up.ownerOf()
	if cc == nil || cc.pending != up {
		// The client left while we dialled: keep the fresh connection.
		up.l.poolOrphan(up)
		return
	}
	cc.enter()
	cc.pending = nil
	cc.attach(up, false)
	cc.sendRequest()
	cc.leave()
}

// poolOrphan files a freshly dialled connection nobody waits for any more.
func (l *loop) poolOrphan(up *upConn) {
	l.poolUp(up, keepalive{size: max(l.s.opts.KeepalivePoolSize, 1), idle: l.s.opts.KeepaliveIdle})
}

// onDialFailed runs on the loop when a dial did not produce a connection.
func (up *upConn) onDialFailed(timedOut bool, err error) {
	l := up.l
	cc := up.ownerOf()
	l.releaseUp(up)
	if cc == nil || cc.pending != up {
		return
	}
	if l.debug {
		l.s.opts.Logger.Debug("upstream connect failed", "err", err, "timeout", timedOut)
	}
	cc.enter()
	cc.pending = nil
	cc.connectFailed(timedOut)
	cc.leave()
}

func (up *upConn) onReadable() {
	cc := up.ownerOf()
	if up.state != upBusy || cc == nil {
		// Bytes on an idle connection answer nothing we asked: the
		// connection is out of step and must not be reused.
		up.l.closeUp(up)
		return
	}
	cc.enter()
	if !up.connected {
		up.connected = true
		cc.upstreamConnected()
		cc.pumpBody()
	}
	if cc.up == up && !cc.closed {
		cc.relayResponse()
	}
	cc.leave()
}

func (up *upConn) onClosed() {
	switch up.state {
	case upClosing:
		return // closeUp is releasing it
	case upIdle:
		up.l.s.stats.UpstreamsOpen.Add(-1)
		up.state = upClosing
		up.c = nil
		up.l.releaseUp(up)
		return
	}
	up.l.s.stats.UpstreamsOpen.Add(-1)
	up.state = upClosing
	up.c = nil // gnet releases the conn after this callback
	cc := up.ownerOf()
	if cc == nil {
		up.l.releaseUp(up)
		return
	}
	if cc.depth > 0 {
		cc.upLost = true // a client handler is running; it reacts in leave
		return
	}
	cc.enter()
	cc.upstreamLost()
	cc.leave()
}

// onDrained: the upstream took everything queued for it (request body).
func (up *upConn) onDrained() {
	cc := up.ownerOf()
	if cc == nil || up.state != upBusy {
		return
	}
	cc.enter()
	if !up.connected {
		up.connected = true
		cc.upstreamConnected() // arms the read or body timers
	} else if cc.bodyDone {
		up.armTimer(upTimerRead, cc.tmo.Read)
	}
	cc.pumpBody()
	cc.leave()
}

func (up *upConn) onTimeout() {
	if up.state == upIdle {
		up.l.closeUp(up)
		return
	}
	cc := up.ownerOf()
	if cc == nil || up.state != upBusy {
		return
	}
	cc.enter()
	if up.timerKind == upTimerConnect {
		cc.up = nil
		up.l.closeUp(up)
		cc.connectFailed(true)
	} else {
		cc.upstreamTimedOut()
	}
	cc.leave()
}

func (up *upConn) resumeRead() {
	if up.paused {
		up.paused = false
		_ = up.c.ResumeRead() // fails only on a closed conn, which OnClose handles
	}
}

// relayResponse moves upstream bytes to the client: the head once, then the
// body as it arrives, pausing the upstream when the client falls behind.
func (cc *clientConn) relayResponse() {
	up := cc.up
	buf, _ := up.c.Peek(-1)
	if len(buf) == 0 {
		return
	}
	up.gotBytes = true
	lim := &cc.l.s.opts.Limits
	consumed := 0
	for !cc.respStarted {
		start, end, err := up.scan.Scan(buf[consumed:], lim, true)
		if err != nil {
			cc.abort(http.StatusBadGateway)
			return
		}
		if end == 0 {
			up.armTimer(upTimerRead, cc.tmo.Read)
			_, _ = up.c.Discard(consumed)
			return
		}
		head := buf[consumed+start : consumed+end]
		if err := up.resp.Parse(head, cc.req.Method, lim); err != nil {
			cc.abort(http.StatusBadGateway)
			return
		}
		consumed += end
		if up.resp.Interim() {
			// 1xx: relay it (except 100, which the gateway answers
			// itself) to HTTP/1.1 clients and read on.
			if up.resp.Status != 100 && cc.req.Version == http1.HTTP11 && !cc.write(head) {
				return
			}
			up.scan.Reset()
			continue
		}
		if up.resp.Status == http.StatusSwitchingProtocols {
			cc.abort(http.StatusBadGateway) // upgrades are not relayed (yet)
			return
		}
		if !cc.startResponse(head) {
			return
		}
	}
	n := cc.streamBody(buf[consumed:])
	if n < 0 {
		return
	}
	consumed += n
	_, _ = up.c.Discard(consumed)
	if cc.respBody.Done() {
		cc.finishResponse()
		return
	}
	up.armTimer(upTimerRead, cc.tmo.Read)
	if cc.c.OutboundBuffered() > cc.l.s.opts.HighWater && !up.paused {
		if up.c.PauseRead() == nil {
			up.paused = true
			cc.upPaused = true
			cc.armTimer(timerSend, cc.l.s.opts.SendTimeout)
		}
	}
}

// startResponse writes the response head to the client and sets up body
// framing; false means the client went away.
func (cc *clientConn) startResponse(head []byte) bool {
	if st := cc.runPhases(plugin.HeaderFilter); st > 0 {
		cc.abort(st)
		return false
	}
	resp := &cc.up.resp
	switch {
	case resp.Body == http1.BodyToClose:
		cc.closeAfter = true
	case resp.Body == http1.BodyChunked && cc.req.Version == http1.HTTP10:
		cc.dechunk, cc.closeAfter = true, true
	}
	if !cc.req.KeepAlive || cc.l.s.draining.Load() {
		cc.closeAfter = true
	}
	if !cc.bodyDone && !cc.canDiscard() {
		// The request body will not be read to its end: the connection
		// closes after this response, and the head says so.
		cc.closeAfter = true
	}
	l := cc.l
	// The head waits in scratch and goes out with the first body bytes in
	// one write (streamBody): on loopback every write also pays for the
	// delivery into the peer's socket.
	l.scratch = cc.appendResponseHead(l.scratch[:0], head)
	cc.headPending = true
	cc.respStarted = true
	cc.respBody.Reset(resp.Body, resp.ContentLength, &l.s.opts.Limits)
	return true
}

// streamBody forwards the response body bytes at the start of buf (with the
// response head, if it has not gone out yet) and returns how many it
// consumed, or -1 if the exchange ended (client gone, bad framing).
func (cc *clientConn) streamBody(buf []byte) int {
	total := 0
	l := cc.l
	l.iov = l.iov[:0]
	if cc.headPending {
		cc.headPending = false
		l.iov = append(l.iov, l.scratch)
	}
	for total < len(buf) && !cc.respBody.Done() {
		n, data, err := cc.respBody.Next(buf[total:])
		if err != nil {
			l.iov = l.iov[:0]
			cc.abort(http.StatusBadGateway)
			return -1
		}
		if cc.dechunk && len(data) > 0 {
			l.iov = append(l.iov, data)
		}
		total += n
	}
	if total > 0 && (cc.globals.Has(plugin.BodyFilter) || cc.route.Plugins.Has(plugin.BodyFilter)) {
		cc.runPhases(plugin.BodyFilter)
	}
	if !cc.dechunk && total > 0 {
		l.iov = append(l.iov, buf[:total])
	}
	var err error
	switch len(l.iov) {
	case 0:
	case 1:
		_, err = cc.c.Write(l.iov[0])
	case 2:
		if head, body := l.iov[0], l.iov[1]; len(body) <= smallBody {
			// Copying a small body behind the head is cheaper than writev.
			l.scratch = append(head, body...)
			_, err = cc.c.Write(l.scratch)
			break
		}
		fallthrough
	default:
		_, err = cc.c.Writev(l.iov)
	}
	l.iov = l.iov[:0]
	if err != nil || cc.closed {
		return -1
	}
	return total
}

// smallBody is the largest body copied behind its head into one buffer
// rather than sent with writev.
const smallBody = 8 << 10

// finishResponse ends an exchange whose response is complete: the upstream
// connection goes back to the pool if it can carry another request.
func (cc *clientConn) finishResponse() {
	up := cc.up
	cc.up = nil
	l := cc.l
	keep := l.upstream(cc.route.Upstream).keep
	reusable := up.resp.KeepAlive && cc.bodyDone && !up.paused && up.c.InboundBuffered() == 0 &&
		up.c.OutboundBuffered() == 0 && up.requests < keep.requests && !l.s.draining.Load()
	if reusable {
		l.poolUp(up, keep)
	} else {
		l.closeUp(up)
	}
	cc.finishExchange()
}

// upstreamLost handles the exchange's upstream closing on us.
func (cc *clientConn) upstreamLost() {
	up := cc.up
	if up == nil {
		return
	}
	cc.up = nil
	stale := up.reused && !up.gotBytes
	connected := up.connected
	respKind := up.resp.Body
	cc.l.releaseUp(up)
	switch {
	case !connected:
		cc.connectFailed(false) // refused or reset during the handshake
	case cc.respStarted && respKind == http1.BodyToClose:
		cc.finishExchange() // close-delimited: the close is the end
	case cc.respStarted:
		cc.closeNow() // truncated response
	case !cc.headSent && !cc.retried:
		// The write of the head failed: nothing reached the upstream, so
		// any request may go once more on another connection.
		cc.retried = true
		cc.retryOn()
	case stale && cc.canRetry && !cc.retried:
		// A pooled connection the upstream had already closed: resend
		// once on a fresh one (the request is idempotent and kept whole).
		cc.retried = true
		cc.retryOn()
	default:
		cc.replyError(http.StatusBadGateway, !cc.bodyDone)
	}
}

// retryOn resends the kept request on another connection to the same node.
func (cc *clientConn) retryOn() {
	cc.tried.Reset() // same node is fine: it was the connection, not the node
	cc.connect()
}

// upstreamTimedOut: send or read timeout (504), or the response stalled
// after its head went out (the client connection is closed).
func (cc *clientConn) upstreamTimedOut() {
	if cc.respStarted {
		cc.closeNow()
		return
	}
	cc.replyError(http.StatusGatewayTimeout, !cc.bodyDone)
}
