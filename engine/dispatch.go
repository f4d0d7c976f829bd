package engine

import (
	"context"
	"net/http"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// stage is where a dispatched request is in APISIX's order of phases
// (shared/reference/apisix.md §5.1). The runner advances through them; a
// hook that parks leaves the request at its stage and hook index, and the
// request resumes there on its loop.
type stage uint8

const (
	stGlobalRewrite     stage = iota // global rules' rewrite hooks
	stRewrite                        // the route's (auth plugins identify the consumer)
	stConsumerRewrite                // consumer plugins merged in; the added ones' rewrite hooks
	stGlobalAccess                   // global rules' access hooks
	stAccess                         // the route's
	stBalance                        // the upstream and node are chosen (404 when no route)
	stGlobalBeforeProxy              // global rules' before_proxy hooks
	stBeforeProxy                    // the route's
	stProxy                          // connect and send
)

var slash = []byte("/")

// dispatch routes a parsed request (its head is buf[headOff:headEnd], and a
// copy of it is in the request context) and runs its phases.
func (cc *clientConn) dispatch(buf []byte) {
	benchSlowdown() // ~1 µs of work with -tags sluice_slowdown (bench/suite, engine/slowdown.go); else nothing
	l := cc.l
	rc := &cc.rc
	opts := &l.s.opts
	cc.reqBody.Reset(rc.Req.Body, rc.Req.ContentLength, &opts.Limits)
	cc.bodyDone = cc.reqBody.Done()

	head := rc.Head
	path := rc.Req.Path.Of(head)
	if len(path) == 0 {
		path = slash
	}
	if http1.PathNeedsNormalizing(path) {
		p, err := http1.NormalizePath(l.path[:0], path)
		l.path = p[:0]
		if err != nil {
			rc.Begin(path, nil, time.Now())
			cc.reject(http.StatusBadRequest)
			return
		}
		path = p
	}
	rc.Begin(path, lowerHost(l, rc.Req.HostName.Of(head)), time.Now())
	rev := l.hostRev[:0]
	host := rc.Host()
	for i := len(host) - 1; i >= 0; i-- {
		rev = append(rev, host[i])
	}
	l.hostRev = rev[:0]
	q := &rc.Query
	q.Path, q.Host, q.HostRev = rc.URI(), host, rev
	q.HostHeader = rc.Req.Host.Of(head)
	q.Method = rc.Req.Method.Bit()
	q.RemoteAddr = rc.RemoteAddr
	q.Vars = rc
	if rc.Req.Body == http1.BodyLength && int64(len(buf)-cc.headEnd) >= rc.Req.ContentLength {
		rc.Body = buf[cc.headEnd : int64(cc.headEnd)+rc.Req.ContentLength]
	}
	if !cc.trusted && len(opts.TrustedAddresses) > 0 {
		dropUntrustedForwardedFor(rc)
	}
	snap := l.s.store.Load() // once per request: every phase sees this snapshot
	cc.dispatched = true
	cc.globals = snap.GlobalRules
	rc.Config = snap.Plugins
	if route := snap.Match(q); route != nil {
		cc.route = route
		cc.routeUp = snap.UpstreamOf(route) // by id: the snapshot's version of it
		cc.chain = route.Plugins
		rc.Route, rc.RouteID, rc.RouteName = route, route.ID, route.Name
		rc.ServiceID, rc.ServiceName = route.ServiceID, route.ServiceName
	}
	q.HostRev = nil // the loop's buffer; the rest of Query points into the context
	cc.stage, cc.hook = stGlobalRewrite, 0
	cc.runStages()
}

// dropUntrustedForwardedFor removes the X-Forwarded-For of a peer outside
// apisix.trusted_addresses before routing and plugins see it, as APISIX's
// handle_trusted_x_forwarded_headers does: the upstream then gets only the
// connection's address, and real-ip cannot be fooled by a forged chain.
// Without trusted_addresses the chain is kept (APISIX's default).
func dropUntrustedForwardedFor(rc *reqctx.Ctx) {
	for i := range rc.Req.Headers {
		if rc.Req.Headers[i].Kind == http1.KindXForwardedFor {
			rc.DelHeader(hdrXForwardedFor)
			return
		}
	}
}

// runStages runs the request's phases from where it is until it is sent
// upstream, answered, or parked.
func (cc *clientConn) runStages() {
	rc := &cc.rc
	for {
		res, at := reqctx.Continue, 0
		switch cc.stage {
		case stGlobalRewrite:
			res, at = cc.globals.Run(plugin.Rewrite, rc, cc.hook, cc.chain)
		case stRewrite:
			res, at = cc.chain.Run(plugin.Rewrite, rc, cc.hook, nil)
		case stConsumerRewrite:
			if rc.Consumer != nil {
				if cc.hook == 0 {
					cc.chain = plugin.MergeConsumer(&cc.l.plugins, cc.chain, rc.Consumer)
				}
				res, at = cc.chain.RunConsumerRewrite(rc, cc.hook)
			}
		case stGlobalAccess:
			res, at = cc.globals.Run(plugin.Access, rc, cc.hook, cc.chain)
		case stAccess:
			res, at = cc.chain.Run(plugin.Access, rc, cc.hook, nil)
		case stBalance:
			if !cc.balance() {
				return
			}
		case stGlobalBeforeProxy:
			res, at = cc.globals.Run(plugin.BeforeProxy, rc, cc.hook, cc.chain)
		case stBeforeProxy:
			res, at = cc.chain.Run(plugin.BeforeProxy, rc, cc.hook, nil)
		default:
			rc.Body = nil // it aliased the read buffer
			cc.connect()
			return
		}
		switch res {
		case reqctx.Continue:
			cc.stage++
			cc.hook = 0
		case reqctx.Stop:
			cc.exitReply()
			return
		case reqctx.Parked:
			cc.hook = at
			cc.park()
			return
		}
	}
}

// currentHook returns the hook the runner is at (the one that parked).
func (cc *clientConn) currentHook() *plugin.Entry {
	switch cc.stage {
	case stGlobalRewrite:
		return cc.globals.Hook(plugin.Rewrite, cc.hook)
	case stRewrite, stConsumerRewrite:
		return cc.chain.Hook(plugin.Rewrite, cc.hook)
	case stGlobalAccess:
		return cc.globals.Hook(plugin.Access, cc.hook)
	case stAccess:
		return cc.chain.Hook(plugin.Access, cc.hook)
	case stGlobalBeforeProxy:
		return cc.globals.Hook(plugin.BeforeProxy, cc.hook)
	case stBeforeProxy:
		return cc.chain.Hook(plugin.BeforeProxy, cc.hook)
	}
	return nil
}

// parkTask is a parked request's job on its way through the worker pool.
type parkTask struct {
	cc  *clientConn
	gen uint32
	job reqctx.Job
}

// park hands the job a hook parked on to the worker pool; the request
// resumes on this loop (resume). With every worker busy and the queue full
// the request is shed with 503 rather than the loop waiting.
func (cc *clientConn) park() {
	job := cc.rc.TakeParked()
	select {
	case cc.l.s.parkq <- parkTask{cc: cc, gen: cc.gen, job: job}:
		cc.parked = true
	default:
		job.Resume(nil)
		cc.replyError(http.StatusServiceUnavailable, false)
	}
}

// runParked is a worker's side of a park: run the job off the loop, then
// hand the request back to its loop.
func (s *Server) runParked(t parkTask) {
	t.job.Run()
	l := t.cc.l
	err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		l.resume(t)
		return nil
	}))
	if err != nil {
		s.opts.Logger.Warn("cannot resume a parked request on its loop", "err", err)
	}
}

// resume continues a parked request on its loop, unless the connection
// went away meanwhile (then the job only cleans up).
func (l *loop) resume(t parkTask) {
	cc := t.cc
	if cc.gen != t.gen || cc.closed || !cc.parked {
		t.job.Resume(nil)
		return
	}
	cc.enter()
	cc.parked = false
	switch t.job.Resume(&cc.rc) {
	case reqctx.Continue:
		cc.hook++
		cc.runStages()
	case reqctx.Stop:
		if e := cc.currentHook(); e != nil {
			e.Stopped(&cc.rc)
		}
		cc.exitReply()
	case reqctx.Parked:
		cc.park()
	}
	cc.leave()
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
