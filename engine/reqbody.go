package engine

import (
	"github.com/sluicegw/sluice/http1"
)

// sendRequest writes the request head (built for the attempt's node) and
// the body bytes at hand to the attached upstream. A first send frames the
// body bytes already buffered; a retry whose input is still held sends the
// same bytes again; a retry after the input was consumed sends the kept
// body (replay; attempt.go says when that is allowed).
func (cc *clientConn) sendRequest() {
	l := cc.l
	up := cc.up
	cc.rc.SentUpstreamHost(cc.upstreamHost())
	out := cc.appendUpstreamRequest(l.scratch[:0])
	l.scratch = out[:0]
	var body []byte
	held := 0
	switch {
	case cc.headSent:
		body = cc.replay
	case cc.held > 0:
		buf, _ := cc.c.Peek(-1)
		body, held = buf[cc.headEnd:cc.held], cc.held
	default:
		buf, _ := cc.c.Peek(-1)
		rest := buf[cc.headEnd:]
		n := 0
		if !cc.bodyDone && len(rest) > 0 {
			var err error
			if n, err = cc.frameRequestBody(rest); err != nil {
				cc.replyError(http1.StatusOf(err), true)
				return
			}
		}
		if cc.rc.Req.Expect100 && !cc.bodyDone && n == 0 {
			if !cc.write(http1.ContinueResponse) {
				return
			}
		}
		body, held = rest[:n], cc.headEnd+n
		// Keep what a retry needs: only for a complete, idempotent, small
		// request, and only when it may be retried at all.
		cc.canRetry = cc.rc.Req.Method.Idempotent() && cc.bodyDone && n <= maxReplayBody &&
			(up.reused || cc.attempts < cc.upstream.Retries)
		if cc.canRetry {
			cc.replay = append(cc.replay[:0], body...)
		}
	}
	var err error
	switch {
	case len(body) > 0 && up.tls == nil:
		l.iov = append(l.iov[:0], out, body)
		_, err = up.c.Writev(l.iov)
		l.iov = l.iov[:0]
	case len(body) > 0:
		// One TLS record for head and body.
		out = append(out, body...)
		l.scratch = out[:0]
		err = up.write(out)
	default:
		err = up.write(out)
	}
	if err != nil {
		return // OnClose(up) ran inside the write; leave handles it
	}
	cc.requestQueued(held)
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
		// Reading may have paused while the connection was being made
		// (MaxBufferedInput); a connection that took every byte gives
		// no drain event to resume it.
		cc.pumpBody()
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
	cc.rc.RequestLength += int64(total)
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
	if err := cc.up.write(buf[:n]); err != nil {
		return // OnClose(up) ran; leave handles it
	}
	_, _ = cc.c.Discard(n)
	cc.afterSend()
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
	if cc.rc.Req.Expect100 && cc.bodySeen == 0 {
		return false
	}
	switch cc.rc.Req.Body {
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
