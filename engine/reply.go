package engine

import (
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/plugin"
)

var (
	textPlain         = []byte("text/plain; charset=utf-8")
	routeNotFoundBody = []byte("{\"error_msg\":\"404 Route Not Found\"}\n")
)

// respond answers the request with a response the gateway makes itself
// (404, an error page, a plugin's exit). Like an upstream's, it passes
// through header_filter and body_filter, then the exchange finishes (log).
// The connection stays open unless close is set, the request said
// otherwise, or its body cannot be read to its end.
func (cc *clientConn) respond(status int, contentType, body []byte, close bool) {
	if cc.respStarted {
		cc.closeNow()
		return
	}
	cc.detachUpstream()
	if (!cc.settleInput() && !cc.canDiscard()) || !cc.rc.Req.KeepAlive || cc.l.s.draining.Load() {
		cc.closeAfter = true
	}
	cc.closeAfter = cc.closeAfter || close
	rc := &cc.rc
	rc.Status = status
	if rc.Attempts() > 0 && status >= 500 && len(rc.UpstreamStatuses()) > 0 {
		rc.SetRespHeader(hdrUpstreamStatus, rc.UpstreamStatuses())
	}
	if len(contentType) > 0 {
		if _, set := rc.RespHeader(hdrContentType); !set {
			rc.SetRespHeader(hdrContentType, contentType)
		}
	}
	if cc.dispatched {
		cc.headerFilters()
		if rc.BodyRewrite || cc.globals.Has(plugin.BodyFilter) || cc.chain.Has(plugin.BodyFilter) {
			body = cc.filterWhole(body)
		}
	}
	l := cc.l
	r := http1.Reply{
		Status:   rc.Status,
		Body:     body,
		Close:    cc.closeAfter,
		HeadOnly: rc.Req.Method == http1.MethodHead,
		Server:   l.s.serverHeader,
		Date:     l.date,
		Extra:    rc.AppendRespEdits(l.extra[:0]),
	}
	l.extra = r.Extra[:0]
	out := http1.AppendReply(l.scratch[:0], &r)
	l.scratch = out[:0]
	cc.respStarted = true
	if !cc.write(out) {
		return
	}
	if !r.HeadOnly {
		rc.BodyBytesSent += int64(len(body))
	}
	cc.finishExchange()
}

// filterWhole runs a complete body through the body filters (one call,
// the last) and returns what to send.
func (cc *clientConn) filterWhole(body []byte) []byte {
	out := cc.bodyFilters(body, true)
	if !cc.rc.BodyRewrite {
		return body
	}
	// The filters' output is theirs until their next call; keep a copy in
	// the loop's reply buffer.
	cc.l.filtered = append(cc.l.filtered[:0], out...)
	return cc.l.filtered
}

// headerFilters runs header_filter: global rules first, then the route's.
func (cc *clientConn) headerFilters() {
	cc.globals.HeaderFilter(&cc.rc, cc.chain)
	cc.chain.HeaderFilter(&cc.rc, nil)
}

// bodyFilters runs one piece of body through body_filter: global rules
// first, then the route's.
func (cc *clientConn) bodyFilters(data []byte, eof bool) []byte {
	data = cc.globals.BodyFilter(&cc.rc, data, eof, cc.chain)
	return cc.chain.BodyFilter(&cc.rc, data, eof, nil)
}

// exitReply answers with what a hook's exit set: its body (text/plain
// unless the hook said otherwise), or the error page for its status.
func (cc *clientConn) exitReply() {
	_, body, has, ct := cc.rc.Exited()
	if !has {
		cc.replyError(cc.rc.Status, false)
		return
	}
	if len(ct) == 0 {
		ct = textPlain
	}
	cc.respond(cc.rc.Status, ct, body, false)
}

// replyError answers with the gateway's HTML error page for status.
func (cc *clientConn) replyError(status int, close bool) {
	cc.respond(status, http1.HTMLContentType, http1.ErrorPage(status), close)
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

// logRequest runs the log phase, once per request however it ended.
func (cc *clientConn) logRequest() {
	if (!cc.dispatched && !cc.rejected) || cc.logged {
		return
	}
	cc.logged = true
	if cc.dispatched {
		cc.globals.Log(&cc.rc, cc.chain)
		cc.chain.Log(&cc.rc, nil)
	}
	if al := cc.l.s.opts.AccessLog; al != nil {
		al.Log(&cc.rc)
	}
}

// finishExchange ends the current request: log, then close, drop the rest
// of its body, or get ready for the next one (which may already be
// buffered: pipelining). Body bytes are never parsed as a request.
func (cc *clientConn) finishExchange() {
	cc.logRequest()
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
