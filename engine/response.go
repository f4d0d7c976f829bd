package engine

import (
	"net/http"
	"strconv"

	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/plugin"
)

// relayResponse moves upstream bytes to the client: the head once, then the
// body as it arrives, pausing the upstream when the client falls behind.
func (cc *clientConn) relayResponse() {
	up := cc.up
	buf := up.input()
	if len(buf) == 0 {
		return
	}
	up.gotBytes = true
	lim := &cc.l.s.opts.Limits
	consumed := 0
	for !cc.respStarted {
		start, end, err := up.scan.Scan(buf[consumed:], lim, true)
		if err != nil {
			cc.badHead()
			return
		}
		if end == 0 {
			up.armTimer(upTimerRead, cc.tmo.Read)
			up.consume(consumed)
			return
		}
		head := buf[consumed+start : consumed+end]
		if err := up.resp.Parse(head, cc.rc.Req.Method, lim); err != nil {
			cc.badHead()
			return
		}
		consumed += end
		if up.resp.Interim() {
			// 1xx: relay it (except 100, which the gateway answers
			// itself) to HTTP/1.1 clients and read on.
			if up.resp.Status != 100 && cc.rc.Req.Version == http1.HTTP11 && !cc.write(head) {
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
	up.consume(consumed)
	if cc.respBody.Done() {
		if cc.rewrite && !cc.finishRewrite() {
			return
		}
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

// startResponse runs header_filter over the upstream's response head,
// builds the head for the client and sets up body framing; false means the
// client went away. The head is written with the first body bytes.
func (cc *clientConn) startResponse(head []byte) bool {
	resp := &cc.up.resp
	rc := &cc.rc
	cc.attemptResponded(resp.Status)
	rc.Status = resp.Status
	if resp.Status >= 500 {
		// APISIX tells clients the error came from upstream.
		rc.SetRespHeader(hdrUpstreamStatus, rc.UpstreamStatuses())
	}
	rc.Resp, rc.RespHead = resp, head
	cc.headerFilters()
	bodyless := resp.Body == http1.BodyNone || cc.rc.Req.Method == http1.MethodHead
	cc.rewrite = rc.BodyRewrite && !bodyless
	cc.observe = !cc.rewrite && !bodyless && (cc.globals.Has(plugin.BodyFilter) || cc.chain.Has(plugin.BodyFilter))
	switch {
	case resp.Body == http1.BodyToClose:
		cc.closeAfter = true
	case cc.rewrite && cc.rc.Req.Version == http1.HTTP10:
		cc.closeAfter = true // the filtered body ends when the connection does
	case resp.Body == http1.BodyChunked && cc.rc.Req.Version == http1.HTTP10:
		cc.dechunk, cc.closeAfter = true, true
	}
	if !cc.rc.Req.KeepAlive || cc.l.s.draining.Load() {
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
	rc.Resp, rc.RespHead = nil, nil // the head's bytes die with this callback
	cc.headPending = true
	cc.respStarted = true
	cc.respBody.Reset(resp.Body, resp.ContentLength, &l.s.opts.Limits)
	return true
}

// streamBody forwards the response body bytes at the start of buf (with the
// response head, if it has not gone out yet) and returns how many it
// consumed, or -1 if the exchange ended (client gone, bad framing).
func (cc *clientConn) streamBody(buf []byte) int {
	if cc.rewrite {
		return cc.streamRewritten(buf)
	}
	total := 0
	l := cc.l
	l.iov = l.iov[:0]
	if cc.headPending {
		cc.headPending = false
		l.iov = append(l.iov, l.scratch)
	}
	headLen := 0
	if len(l.iov) > 0 {
		headLen = len(l.iov[0])
	}
	for total < len(buf) && !cc.respBody.Done() {
		n, data, err := cc.respBody.Next(buf[total:])
		if err != nil {
			l.iov = l.iov[:0]
			cc.abort(http.StatusBadGateway)
			return -1
		}
		if len(data) > 0 {
			if cc.dechunk {
				l.iov = append(l.iov, data)
			}
			if cc.observe {
				cc.bodyFilters(data, false)
			}
		}
		total += n
	}
	if cc.observe && cc.respBody.Done() {
		cc.bodyFilters(nil, true)
	}
	if !cc.dechunk && total > 0 {
		l.iov = append(l.iov, buf[:total])
	}
	var err error
	sent := 0
	switch len(l.iov) {
	case 0:
	case 1:
		sent = len(l.iov[0])
		_, err = cc.c.Write(l.iov[0])
	case 2:
		if head, body := l.iov[0], l.iov[1]; len(body) <= smallBody {
			// Copying a small body behind the head is cheaper than writev.
			l.scratch = append(head, body...)
			sent = len(l.scratch)
			_, err = cc.c.Write(l.scratch)
			break
		}
		fallthrough
	default:
		for _, b := range l.iov {
			sent += len(b)
		}
		_, err = cc.c.Writev(l.iov)
	}
	l.iov = l.iov[:0]
	if err != nil || cc.closed {
		return -1
	}
	cc.rc.BytesSent += int64(sent)
	cc.rc.BodyBytesSent += int64(sent - headLen)
	return total
}

// smallBody is the largest body copied behind its head into one buffer
// rather than sent with writev.
const smallBody = 8 << 10

// streamRewritten is streamBody for a body the body filters rewrite: the
// upstream's framing is decoded, each piece of data goes through the
// filters, and what they return is sent chunked (or, to an HTTP/1.0
// client, as is until the connection closes).
func (cc *clientConn) streamRewritten(buf []byte) int {
	if cc.headPending {
		cc.headPending = false
		if !cc.write(cc.l.scratch) {
			return -1
		}
	}
	total := 0
	for total < len(buf) && !cc.respBody.Done() {
		n, data, err := cc.respBody.Next(buf[total:])
		if err != nil {
			cc.abort(http.StatusBadGateway)
			return -1
		}
		total += n
		if len(data) > 0 && !cc.sendFiltered(cc.bodyFilters(data, false)) {
			return -1
		}
	}
	return total
}

// finishRewrite gives the body filters their end-of-body call and ends the
// chunked body; false means the client went away.
func (cc *clientConn) finishRewrite() bool {
	if !cc.sendFiltered(cc.bodyFilters(nil, true)) {
		return false
	}
	if cc.rc.Req.Version == http1.HTTP11 {
		return cc.write(lastChunk)
	}
	return true
}

// sendFiltered sends filtered body bytes as one chunk (HTTP/1.1) or raw.
func (cc *clientConn) sendFiltered(out []byte) bool {
	if len(out) == 0 {
		return true
	}
	cc.rc.BodyBytesSent += int64(len(out))
	if cc.rc.Req.Version != http1.HTTP11 {
		return cc.write(out)
	}
	l := cc.l
	size := strconv.AppendInt(l.chunkHead[:0], int64(len(out)), 16)
	size = append(size, http1.CRLF...)
	l.iov = append(l.iov[:0], size, out, http1.CRLF)
	_, err := cc.c.Writev(l.iov)
	l.iov = l.iov[:0]
	if err != nil || cc.closed {
		return false
	}
	cc.rc.BytesSent += int64(len(size) + len(out) + 2)
	return true
}

var lastChunk = []byte("0\r\n\r\n")

// finishResponse ends an exchange whose response is complete: the upstream
// connection goes back to the pool if it can carry another request.
func (cc *clientConn) finishResponse() {
	up := cc.up
	cc.up = nil
	l := cc.l
	keep := l.upstream(cc.upstream).keep
	reusable := up.resp.KeepAlive && cc.bodyDone && !up.paused && up.buffered() == 0 &&
		up.c.OutboundBuffered() == 0 && up.requests < keep.requests && !l.s.draining.Load()
	if reusable {
		l.poolUp(up, keep)
	} else {
		l.closeUp(up)
	}
	cc.endAttempt()
	cc.finishExchange()
}

// badHead: the upstream's response head is malformed. The attempt failed
// (a TCP failure for health checks, 502), and is not retried: nginx's
// default proxy_next_upstream leaves out invalid_header.
func (cc *clientConn) badHead() {
	cc.failAttempt(health.TCPFailure, http.StatusBadGateway)
	cc.abort(http.StatusBadGateway)
}
