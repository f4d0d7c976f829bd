package engine

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/http1"
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
	tls  *upTLS // https upstreams: the TLS layer (tls.go); nil for plain HTTP

	timer     timerNode
	timerKind upTimer

	pprev, pnext *upConn   // idle pool links
	pooled       *idlePool // the pool holding it, when idle
	idleSince    int64     // loop tick it went idle
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
	up.tls = nil
	return up
}

// input returns the response bytes received and not consumed yet: gnet's
// buffer, or for TLS the decrypted bytes. Valid until consume or the
// handler returns.
func (up *upConn) input() []byte {
	if up.tls != nil {
		return up.tls.plain
	}
	b, _ := up.c.Peek(-1)
	return b
}

// consume drops the first n bytes of input.
func (up *upConn) consume(n int) {
	if n <= 0 {
		return
	}
	if t := up.tls; t != nil {
		t.plain = t.plain[:copy(t.plain, t.plain[n:])]
		return
	}
	_, _ = up.c.Discard(n)
}

// buffered returns how many input bytes wait.
func (up *upConn) buffered() int {
	if up.tls != nil {
		return len(up.tls.plain)
	}
	return up.c.InboundBuffered()
}

// write sends b upstream (through TLS when the connection has it). An
// error means the connection closed inside the write (OnClose ran).
func (up *upConn) write(b []byte) error {
	if up.tls != nil {
		_, err := up.tls.conn.Write(b)
		return err
	}
	_, err := up.c.Write(b)
	return err
}

// releaseUp returns a closed (or never opened) upstream to the free list.
func (l *loop) releaseUp(up *upConn) {
	l.wheel.cancel(&up.timer)
	if up.pooled != nil {
		up.pooled.remove(up)
	}
	up.c = nil
	up.owner = nil
	up.tls = nil
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
	n.pool.put(up, l.tick)
	l.overSize(n, keep.size)
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
	if up.tls != nil {
		up.tls.enrolled(up)
	}
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
	o := health.TCPFailure
	if timedOut {
		o = health.Timeout
	}
	cc.attemptFailed(o)
	cc.leave()
}

func (up *upConn) onReadable() {
	var tlsErr error
	if up.tls != nil {
		tlsErr = up.tls.decrypt(up.c)
	}
	cc := up.ownerOf()
	if up.state != upBusy || cc == nil {
		// Bytes on an idle connection answer nothing we asked: the
		// connection is out of step and must not be reused. (TLS may
		// deliver handshake messages, session tickets, while idle.)
		if up.tls == nil || len(up.tls.plain) > 0 || tlsErr != nil {
			up.l.closeUp(up)
		}
		return
	}
	c := up.c
	cc.enter()
	if !up.connected {
		up.connected = true
		cc.upstreamConnected()
		cc.pumpBody()
	}
	if cc.up == up && !cc.closed {
		cc.relayResponse()
	}
	if tlsErr != nil && up.c == c {
		// The TLS stream ended (close_notify) or broke after what it
		// delivered was relayed: close as if the socket had.
		switch up.state {
		case upIdle:
			up.l.closeUp(up)
		case upBusy:
			_ = up.l.el.Close(c) // OnClose runs now; leave handles the loss
		}
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
		cc.attemptFailed(health.Timeout) // closes up
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
