package engine

import (
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/http1"
)

var (
	http11Suffix       = []byte(" HTTP/1.1\r\n")
	statusPrefix       = []byte("HTTP/1.1 ")
	chunkedHeader      = []byte("Transfer-Encoding: chunked\r\n")
	schemeHTTP         = []byte("http")
	commaSpace         = []byte(", ")
	hdrHost            = "Host"
	hdrXRealIP         = "X-Real-IP"
	hdrXForwardedFor   = "X-Forwarded-For"
	hdrXForwardedProto = "X-Forwarded-Proto"
	hdrXForwardedHost  = "X-Forwarded-Host"
	hdrXForwardedPort  = "X-Forwarded-Port"
	hdrServer          = "Server"
	hdrContentType     = "Content-Type"
	hdrUpstreamStatus  = "X-APISIX-Upstream-Status"
	question           = []byte("?")
	// Names of the forwarding fields a plugin may edit (proxy-rewrite); the
	// engine then writes the edited value instead of its own.
	nameXForwardedFor   = []byte(hdrXForwardedFor)
	nameXForwardedProto = []byte(hdrXForwardedProto)
	nameXForwardedHost  = []byte(hdrXForwardedHost)
	nameXForwardedPort  = []byte(hdrXForwardedPort)
	// engineWritten are edited fields the engine writes itself rather than
	// as plain edits: X-Forwarded-For (extended with the client's address),
	// X-Real-IP (nginx's proxy_set_header always wins) and Host (pass_host,
	// or SetUpstreamHost, decides it; an edit must not send a second one).
	engineWritten = []string{hdrXForwardedFor, hdrXRealIP, hdrHost}
)

// lineRuns appends header lines to dst, copying consecutive kept lines as one
// run (they are contiguous in the head), so an unchanged head costs a single
// copy however many fields it has.
type lineRuns struct {
	start, end int
}

func (r *lineRuns) keep(h *http1.Header) {
	s, e := int(h.Line.Off), int(h.Line.Off+h.Line.Len)
	if r.end > r.start && r.end == s {
		r.end = e
		return
	}
	r.start, r.end = s, e
}

func (r *lineRuns) flush(dst, head []byte) []byte {
	if r.end > r.start {
		dst = append(dst, head[r.start:r.end]...)
	}
	r.start, r.end = 0, 0
	return dst
}

// upstreamHost returns the Host value the request goes upstream with (the
// Host appendUpstreamRequest writes): a plugin's, else pass_host's choice.
func (cc *clientConn) upstreamHost() []byte {
	rc := &cc.rc
	up := cc.upstream
	if h, ok := rc.UpstreamHostOverride(); ok {
		return h
	}
	switch up.PassHost {
	case config.PassHostNode:
		return up.Nodes[cc.node].HostHeader
	case config.PassHostRewrite:
		return up.HostRewrite
	}
	if h := rc.Req.Host.Of(rc.Head); len(h) > 0 {
		return h
	}
	return up.Nodes[cc.node].HostHeader
}

// appendUpstreamRequest builds the head sent upstream: the request line in
// origin-form over HTTP/1.1, the client's fields minus hop-by-hop ones, Host
// per pass_host, APISIX's X-Real-IP / X-Forwarded-* fields, canonical
// framing (RFC 9110 §7.6.1; reference apisix.md §6.4), and what plugins
// changed (method, uri, args, headers, Host).
func (cc *clientConn) appendUpstreamRequest(dst []byte) []byte {
	rc := &cc.rc
	r := &rc.Req
	head := rc.Head
	up := cc.upstream
	dst = append(dst, rc.Method()...)
	dst = append(dst, ' ')
	switch {
	case rc.URIRewritten() || rc.ArgsRewritten():
		dst = append(dst, rc.URI()...)
		if args := rc.Args(); len(args) > 0 {
			dst = append(dst, question...)
			dst = append(dst, args...)
		}
	case r.HostFromTarget: // absolute-form → origin-form
		if r.Path.Empty() {
			dst = append(dst, '/')
		} else {
			dst = append(dst, r.Path.Of(head)...)
		}
		if !r.Query.Empty() {
			dst = append(dst, '?')
			dst = append(dst, r.Query.Of(head)...)
		}
	default:
		dst = append(dst, r.Target.Of(head)...)
	}
	dst = append(dst, http11Suffix...)

	passHost := up.PassHost
	hostOverride, hostSet := rc.UpstreamHostOverride()
	keepHost := passHost == config.PassHostPass && !r.HostFromTarget && !hostSet
	edits := rc.HasReqEdits()
	var (
		runs      lineRuns
		sawHost   bool
		xffFirst  = -1 // index of the first client X-Forwarded-For
		haveProto bool
		haveHost  bool
		havePort  bool
	)
	for i := range r.Headers {
		h := &r.Headers[i]
		keep := false
		switch h.Kind {
		case http1.KindOther, http1.KindServer:
			keep = true
		case http1.KindHost:
			keep, sawHost = keepHost, true
		case http1.KindXForwardedFor:
			if xffFirst < 0 {
				xffFirst = i
			}
		case http1.KindXForwardedProto:
			keep, haveProto = cc.trusted, cc.trusted
		case http1.KindXForwardedHost:
			keep, haveHost = cc.trusted, cc.trusted
		case http1.KindXForwardedPort:
			keep, havePort = cc.trusted, cc.trusted
		}
		// Hop-by-hop fields, X-Real-IP and Forwarded (APISIX clears it) and
		// Expect (the gateway answers 100-continue itself) are dropped, and
		// so are fields a plugin replaced or removed (X-Forwarded-* too:
		// APISIX sets them as request headers before plugins run, so a
		// plugin's value wins).
		if keep && edits && h.Kind != http1.KindHost && rc.ReqEdited(h.Name.Of(head)) {
			keep = false
		}
		if keep {
			runs.keep(h)
		} else {
			dst = runs.flush(dst, head)
		}
	}
	dst = runs.flush(dst, head)

	switch {
	case hostSet:
		dst = http1.AppendHeader(dst, hdrHost, hostOverride)
	case passHost == config.PassHostNode:
		dst = http1.AppendHeader(dst, hdrHost, up.Nodes[cc.node].HostHeader)
	case passHost == config.PassHostRewrite:
		dst = http1.AppendHeader(dst, hdrHost, up.HostRewrite)
	case r.HostFromTarget || (!sawHost && !r.Host.Empty()):
		dst = http1.AppendHeader(dst, hdrHost, r.Host.Of(head))
	case !sawHost || r.Host.Empty():
		// HTTP/1.0 without Host (or an empty one): the upstream speaks
		// HTTP/1.1 and needs one; send the node's.
		dst = http1.AppendHeader(dst, hdrHost, up.Nodes[cc.node].HostHeader)
	}
	xffEdited := false
	if edits {
		dst = rc.AppendReqEditsExcept(dst, engineWritten)
		// A plugin's set or removal of X-Forwarded-Proto/Host/Port replaces
		// the gateway's value (its set went out with the edits above).
		haveProto = haveProto || rc.ReqEdited(nameXForwardedProto)
		haveHost = haveHost || rc.ReqEdited(nameXForwardedHost)
		havePort = havePort || rc.ReqEdited(nameXForwardedPort)
		xffEdited = rc.ReqEdited(nameXForwardedFor)
	}

	dst = http1.AppendHeader(dst, hdrXRealIP, rc.RemoteText)
	dst = append(dst, hdrXForwardedFor...)
	dst = append(dst, ": "...)
	switch {
	case xffEdited:
		// nginx's $proxy_add_x_forwarded_for over the edited header.
		if v, ok := rc.Header(hdrXForwardedFor); ok && len(v) > 0 {
			dst = append(dst, v...)
			dst = append(dst, commaSpace...)
		}
	case xffFirst >= 0:
		for i := xffFirst; i < len(r.Headers); i++ {
			if h := &r.Headers[i]; h.Kind == http1.KindXForwardedFor {
				dst = append(dst, h.Value.Of(head)...)
				dst = append(dst, commaSpace...)
			}
		}
	}
	dst = append(dst, rc.RemoteText...)
	dst = append(dst, http1.CRLF...)
	if !haveProto {
		dst = http1.AppendHeader(dst, hdrXForwardedProto, schemeHTTP)
	}
	if !haveHost && !r.Host.Empty() {
		dst = http1.AppendHeader(dst, hdrXForwardedHost, r.Host.Of(head))
	}
	if !havePort {
		port := rc.LocalPort
		if !r.Port.Empty() {
			port = r.Port.Of(head)
		}
		dst = http1.AppendHeader(dst, hdrXForwardedPort, port)
	}

	switch r.Body {
	case http1.BodyLength:
		dst = http1.AppendContentLength(dst, r.ContentLength)
	case http1.BodyChunked:
		dst = append(dst, chunkedHeader...)
	}
	return append(dst, http1.CRLF...)
}

// appendResponseHead builds the head sent to the client: the status line
// as HTTP/1.1 (the upstream's, unless a header filter changed the status),
// the upstream's fields minus hop-by-hop ones and those plugins replaced,
// what plugins added, our Server, and framing for this client (chunked
// passes through to HTTP/1.1 clients; an HTTP/1.0 client gets the data and
// a close; a body the filters rewrite is chunked anew).
func (cc *clientConn) appendResponseHead(dst, head []byte) []byte {
	resp := &cc.up.resp
	rc := &cc.rc
	if rc.Status != resp.Status {
		dst = http1.AppendStatusLine(dst, rc.Status)
	} else {
		dst = append(dst, statusPrefix...)
		dst = append(dst, resp.StatusLine.Of(head)...)
		dst = append(dst, http1.CRLF...)
	}
	replaceServer := len(cc.l.s.serverHeader) > 0
	edits := rc.HasRespEdits()
	var runs lineRuns
	for i := range resp.Headers {
		h := &resp.Headers[i]
		drop := h.Kind.HopByHop() || (replaceServer && h.Kind == http1.KindServer) ||
			(edits && rc.RespEdited(h.Name.Of(head)))
		if !drop {
			runs.keep(h)
		} else {
			dst = runs.flush(dst, head)
		}
	}
	dst = runs.flush(dst, head)
	if replaceServer {
		dst = http1.AppendHeader(dst, hdrServer, cc.l.s.serverHeader)
	}
	if edits {
		dst = rc.AppendRespEdits(dst)
	}
	switch {
	case cc.rewrite:
		if rc.Req.Version == http1.HTTP11 {
			dst = append(dst, chunkedHeader...)
		}
	case resp.HasLength && resp.Status != 204:
		dst = http1.AppendContentLength(dst, resp.ContentLength)
	case resp.Chunked && !cc.dechunk && rc.Req.Version == http1.HTTP11:
		dst = append(dst, chunkedHeader...)
	}
	switch {
	case cc.closeAfter:
		dst = http1.AppendConnection(dst, true)
	case rc.Req.Version == http1.HTTP10:
		dst = http1.AppendConnection(dst, false)
	}
	return append(dst, http1.CRLF...)
}
