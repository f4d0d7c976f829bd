package engine

import (
	"net/http"
	"time"

	"github.com/sluicegw/sluice/balancer"
	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/http1"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// Attempts and retries, as APISIX's balancer and nginx's upstream module
// make them (shared/reference/apisix.md §6.3). An attempt is one try of a
// request on one node. Each one, however it ends, is bracketed for the
// balancer's statistics (NodeStats.Started when it begins, Responded when
// the node's response head arrives, Finished exactly once when it ends) and
// reported once to the upstream's health checker: the upstream's own status
// when its head arrives, Timeout or TCPFailure when it fails before that,
// nothing when the client went away first.
//
// A failed attempt moves to another node when all of these hold:
//
//   - it failed before the response head arrived: connect refused or reset,
//     TLS handshake failed, connect/send/read timeout, the connection closed
//     or reset while the head was awaited (nginx's proxy_next_upstream
//     "error timeout"); an HTTP status, even 5xx, is never retried, nor a
//     malformed head;
//   - the upstream's retries are not used up (default: nodes − 1), and an
//     untried node is left (a node is never tried twice for one request,
//     except the node of a one-node upstream with retries set: APISIX
//     bypasses its balancer there and tries that node again);
//   - the request can be sent again: either nothing of it reached an
//     established connection yet (the client's bytes are held until the
//     connect completes), or it is idempotent and was complete and small
//     when it was sent (its body, up to maxReplayBody, is kept to replay;
//     the head is rebuilt for the new node). A request whose body streamed
//     past, or a POST/PATCH/LOCK that was sent, is never sent twice;
//   - retry_timeout has not passed since the first attempt; if it has, the
//     request answers 502 at once (APISIX's balancer phase does so).
//
// Otherwise the request answers 502, or 504 when the last attempt timed
// out. Each attempt is in upstream_status ("502, 502, 200"), which
// X-APISIX-Upstream-Status shows on a 5xx answer.
//
// Not an attempt: a pooled keep-alive connection the upstream had already
// closed (the request failed on it before any byte came back). The request
// goes once more to the same node on a fresh connection, as nginx does
// without counting a try; the node is not blamed.

// maxReplayBody bounds the request body kept per client connection to
// replay an idempotent request on a retry; larger requests are sent once.
const maxReplayBody = 16 << 10

// statsView is balancer.Stats over the loop's per-node statistics for the
// upstream being picked from. One lives in each client connection and
// Request.Stats points at it, so setting it per request allocates nothing.
type statsView struct {
	l *loop
	u *cfgsync.Upstream
}

var _ balancer.Stats = (*statsView)(nil)

func (v *statsView) Node(i int) *balancer.NodeStats {
	if n := v.l.node(v.u.Nodes[i].Ref); n != nil {
		return &n.stats
	}
	return nil
}

// balance chooses where the request goes: the route's upstream (or the one
// a plugin chose, traffic-split) and its first node. It answers the
// request itself, and returns false, when there is nowhere to go.
func (cc *clientConn) balance() bool {
	route := cc.route
	if route == nil {
		cc.respond(http.StatusNotFound, textPlain, routeNotFoundBody, false)
		return false
	}
	if route.Status != 0 {
		cc.replyError(route.Status, false)
		return false
	}
	cc.upstream = cc.routeUp
	if u, ok := cc.rc.UpstreamOverride.(*cfgsync.Upstream); ok && u != nil {
		cc.upstream = u
	}
	cc.tmo = cc.resolveTimeouts()
	cc.stats.u = cc.upstream
	cc.pick.Key = nil
	if cc.upstream.Balancer == config.CHash {
		cc.hashKey()
	}
	if !cc.pickNode() {
		cc.replyError(http.StatusBadGateway, false)
		return false
	}
	return true
}

// hashKey resolves chash's key for the request (APISIX's
// fetch_chash_hash_key) into the connection's key buffer: the compiled
// hash_on source, or the client's address when that is absent or empty.
func (cc *clientConn) hashKey() {
	h := &cc.upstream.Hash
	rc := &cc.rc
	key := cc.key[:0]
	switch h.On {
	case config.HashConsumer:
		if rc.Consumer != nil {
			key = append(key, rc.Consumer.Name...)
		}
	case config.HashVarsCombinations:
		var n int
		if key, n = h.Template.AppendCount(key, rc, nil, nil); n == 0 {
			key = key[:0]
		}
	default:
		if v, ok := rc.Value(&h.Var); ok {
			key = append(key, v...)
		}
	}
	if len(key) == 0 {
		key = append(key, rc.RemoteText...)
	}
	cc.key = key
	cc.pick.Key = key
}

// pickNode asks the balancer for the node of the next attempt, skipping
// the nodes health checks took out (unless all are) and those tried.
func (cc *clientConn) pickNode() bool {
	u := cc.upstream
	p := &cc.pick
	p.Tried = &cc.tried
	p.Down = u.Health.Down() // loaded per attempt: a retry sees a node that just went down
	idx := u.Picker.Pick(&cc.l.upstream(u).pick, p)
	if idx < 0 {
		return false
	}
	cc.node = idx
	if len(u.Nodes) > 1 {
		cc.tried.Add(idx)
	}
	n := &u.Nodes[idx]
	cc.rc.NodeHost, cc.rc.NodePort = n.Host, n.Port
	return true
}

// resolveTimeouts returns the upstream timeouts: the route's, else the
// upstream's, with the engine's default in the fields neither sets.
func (cc *clientConn) resolveTimeouts() cfgsync.Timeouts {
	t := cc.upstream.Timeout
	if cc.route.OwnTimeout {
		t = cc.route.Timeout
	}
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

// connect starts an attempt on the picked node.
func (cc *clientConn) connect() {
	cc.beginAttempt()
	cc.open()
}

// beginAttempt records the start of an attempt on cc.node.
func (cc *clientConn) beginAttempt() {
	node := &cc.upstream.Nodes[cc.node]
	if n := cc.l.node(node.Ref); n != nil {
		n.stats.Started()
	}
	cc.attemptLive, cc.reported, cc.retried = true, false, false
	cc.rc.AddAttempt(node.Addr)
	cc.attemptStart = balancer.Now()
	if cc.attempts == 0 {
		cc.firstStart = cc.attemptStart
	}
}

// attemptResponded records the node's response head: a latency sample,
// the status for health checks and upstream_status.
func (cc *clientConn) attemptResponded(status int) {
	now := balancer.Now()
	rtt := time.Duration(now - cc.attemptStart)
	if n := cc.l.node(cc.upstream.Nodes[cc.node].Ref); n != nil {
		n.stats.Responded(rtt, now)
	}
	if !cc.reported {
		cc.reported = true
		cc.upstream.Health.Report(cc.node, health.HTTPStatus(status))
	}
	cc.rc.FinishAttempt(status, rtt)
}

// failAttempt records an attempt that failed before a response head: its
// outcome for health checks, status (502 or 504) for upstream_status.
func (cc *clientConn) failAttempt(o health.Outcome, status int) {
	if !cc.attemptLive {
		return
	}
	if !cc.reported {
		cc.reported = true
		cc.upstream.Health.Report(cc.node, o)
	}
	cc.rc.FinishAttempt(status, time.Duration(balancer.Now()-cc.attemptStart))
	cc.endAttempt()
}

// endAttempt ends the current attempt, if one is open: Finished for the
// balancer. Idempotent, so every way an exchange ends may call it.
func (cc *clientConn) endAttempt() {
	if !cc.attemptLive {
		return
	}
	cc.attemptLive = false
	if n := cc.l.node(cc.upstream.Nodes[cc.node].Ref); n != nil {
		n.stats.Finished()
	}
}

// attemptFailed handles an attempt that failed before its response head
// (o is TCPFailure or Timeout): the next node if the request may be retried
// (see the top of this file), else 502, or 504 for a timeout.
func (cc *clientConn) attemptFailed(o health.Outcome) {
	status := http.StatusBadGateway
	if o == health.Timeout {
		status = http.StatusGatewayTimeout
	}
	cc.failAttempt(o, status)
	cc.dropUpstream()
	if cc.attempts < cc.upstream.Retries && cc.replayable() {
		if rt := cc.upstream.RetryTimeout; rt > 0 && time.Duration(balancer.Now()-cc.firstStart) >= rt {
			cc.replyError(http.StatusBadGateway, cc.headSent && !cc.bodyDone)
			return
		}
		if cc.pickNode() {
			cc.attempts++
			cc.connect()
			return
		}
	}
	cc.replyError(status, cc.headSent && !cc.bodyDone)
}

// replayable reports whether the request can be sent again: none of it
// reached an established connection (its input is still held), or it was
// complete, idempotent and small enough to keep (canRetry).
func (cc *clientConn) replayable() bool { return !cc.headSent || cc.canRetry }

// dropUpstream closes the exchange's upstream connection and forgets any
// dial in progress (which then completes into the idle pool).
func (cc *clientConn) dropUpstream() {
	if up := cc.up; up != nil {
		cc.up = nil
		cc.l.closeUp(up)
	}
	if p := cc.pending; p != nil {
		cc.pending = nil
		p.owner = nil
	}
}

// open gets a connection to the picked node for the current attempt: an
// idle pooled one, or a new dial.
func (cc *clientConn) open() {
	l := cc.l
	u := cc.upstream
	node := &u.Nodes[cc.node]
	var sni []byte
	if u.TLS != nil {
		sni = hostName(cc.upstreamHost())
	}
	if n := l.node(node.Ref); n != nil {
		if up := n.pool.take(sni); up != nil {
			l.wheel.cancel(&up.timer)
			cc.attach(up, true)
			cc.sendRequest()
			return
		}
	}
	up := l.newUp(node.Ref)
	if node.IP.IsValid() && u.TLS == nil {
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
			cc.attemptFailed(health.TCPFailure)
			return
		}
		cc.attach(up, false)
		up.armTimer(upTimerConnect, cc.tmo.Connect)
		cc.sendRequest()
		return
	}
	// A TLS handshake, or a host name that still needs DNS, blocks: dial
	// from the dialer pool and enroll the connection on this loop.
	up.owner, up.ownerGen = cc, cc.gen
	cc.pending = up
	job := &dialJob{up: up, addr: node.Addr, timeout: cc.tmo.Connect}
	if u.TLS != nil {
		up.tls = &upTLS{sni: string(sni)}
		job.tls = u.TLS
	}
	select {
	case l.s.dialq <- job:
	default:
		// Every dialer is busy and the queue is full: shed load rather
		// than block the loop. Not the node's fault: no health report.
		cc.pending = nil
		l.releaseUp(up)
		cc.reported = true // nothing to tell the checker
		cc.failAttempt(health.TCPFailure, http.StatusBadGateway)
		cc.replyError(http.StatusBadGateway, false)
	}
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

// upstreamLost handles the exchange's upstream closing on us.
func (cc *clientConn) upstreamLost() {
	up := cc.up
	if up == nil {
		return
	}
	cc.up = nil
	stale := up.reused && !up.gotBytes
	respKind := up.resp.Body
	cc.l.releaseUp(up)
	switch {
	case cc.respStarted && respKind == http1.BodyToClose:
		if cc.rewrite && !cc.finishRewrite() {
			return
		}
		cc.endAttempt()
		cc.finishExchange() // close-delimited: the close is the end
	case cc.respStarted:
		cc.closeNow() // truncated response
	case stale && !cc.retried && cc.replayable():
		// A pooled connection the upstream had already closed: once more
		// on a fresh connection to the same node, as the same attempt.
		cc.retried = true
		cc.open()
	default:
		cc.attemptFailed(health.TCPFailure)
	}
}

// upstreamTimedOut: send or read timeout before the response head (an
// attempt failure: retried or 504), or the response stalled after its head
// went out (the client connection is closed).
func (cc *clientConn) upstreamTimedOut() {
	if cc.respStarted {
		cc.closeNow()
		return
	}
	cc.attemptFailed(health.Timeout)
}
