package reqctx

import (
	"net/netip"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/trie"
)

// Ctx is one request as plugin hooks see it. See the package doc for its
// lifetime; all methods are loop-only.
type Ctx struct {
	_ noCopy

	// Loop is the event loop's plugin storage; set once per connection.
	Loop *Loop
	// Config is the request's snapshot's consumers and plugin metadata.
	Config Config

	// Req is the parsed request head; its spans are relative to Head.
	Req http1.Request
	// Head is the request head (request line through the empty line),
	// owned by the Ctx for the request's life.
	Head []byte
	// Query is what the request was routed on; Query.Params holds the
	// parameter captures (uri_param_*).
	Query trie.Query
	// Body is the whole request body when it was already buffered at
	// dispatch (post_arg_* reads it), else nil. It aliases the read buffer:
	// valid during the rewrite and access phases only.
	Body []byte

	// RemoteAddr and RemotePort are the client's; RemoteText is the address
	// as text. LocalAddr/LocalPort are the listener's side.
	RemoteAddr netip.Addr
	RemotePort int
	RemoteText []byte
	LocalAddr  netip.Addr
	LocalPort  []byte // as text

	// Start is when the request's head was complete.
	Start time.Time

	// RouteID, RouteName, ServiceID and ServiceName describe the matched
	// route (empty when none matched). Route is the engine's compiled route.
	RouteID, RouteName     string
	ServiceID, ServiceName string
	Route                  any

	// Consumer and Credential are set by the auth plugin that
	// authenticated the request (SetConsumer).
	Consumer   *Consumer
	Credential *Credential

	// Status is the response status: the upstream's, or the gateway's own
	// (Exit, errors). Header filters may change it.
	Status int
	// BodyRewrite, set by a header_filter hook, says body filters will
	// produce a different body: the engine drops Content-Length and frames
	// the filtered body itself (chunked, or by closing for HTTP/1.0).
	BodyRewrite bool
	// Resp and RespHead are the upstream's response head while
	// header_filter runs (nil otherwise and for gateway answers).
	Resp     *http1.Response
	RespHead []byte

	// UpstreamOverride, when set, is the compiled upstream the request
	// goes to instead of the route's (traffic-split, SetUpstream).
	UpstreamOverride any
	// NodeHost and NodePort are the node picked for the last attempt.
	NodeHost string
	NodePort int

	// Counters the engine keeps for log variables.
	RequestLength int64 // request bytes read, head and body
	BytesSent     int64 // response bytes written to the client
	BodyBytesSent int64 // of which body

	uri      []byte // $uri: path, or rewritten when uriSet
	path     []byte // the normalised request path, owned: Query.Path points into it
	rewrite  []byte // the buffer SetURI writes $uri to, so the routed path stays
	host     []byte // $host, owned
	args     []byte // rewritten query; used when argsSet
	argsSet  bool
	method   []byte // rewritten method; used when methodSet
	hostSet  bool   // SetUpstreamHost was called: upstreamHost is the Host
	upHost   []byte
	sentHost []byte // the Host the last attempt went upstream with (SentUpstreamHost)
	uriSet   bool
	reqEdits []headerEdit
	resEdits []headerEdit

	exited   bool
	exitBody span
	exitHas  bool
	exitType span

	upAddrs  []byte // upstream_addr list
	upStatus []byte // upstream_status list
	upTimes  []byte // upstream_response_time list
	attempts int
	// connAddr, connPort and connText keep the connection's client
	// address while SetRealRemote overrides it for one request (realSet);
	// Reset puts them back.
	connAddr netip.Addr
	connPort int
	connText []byte
	realSet  bool

	arena []byte   // edit names and values, exit bodies
	num   [48]byte // scratch for formatted values (Var)
	built []byte   // scratch for built values (Var: upstream_uri)
	local []any    // per-request plugin values, by LocalKey index
	used  []int    // indexes of local set this request
	parks Job      // the job a hook parked on
}

// noCopy makes go vet's copylocks check flag copies of a Ctx.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// span locates bytes in the arena.
type span struct{ off, n int }

func (c *Ctx) bytes(s span) []byte { return c.arena[s.off : s.off+s.n] }

func (c *Ctx) store(b []byte) span {
	off := len(c.arena)
	c.arena = append(c.arena, b...)
	return span{off, len(b)}
}

func (c *Ctx) storeString(s string) span {
	off := len(c.arena)
	c.arena = append(c.arena, s...)
	return span{off, len(s)}
}

// Reset clears the per-request state for the next request on the same
// connection, keeping every buffer's storage. The connection fields
// (Loop, RemoteAddr, RemotePort, RemoteText, LocalAddr, LocalPort) stay,
// as the connection set them: a SetRealRemote is undone.
func (c *Ctx) Reset() {
	if c.realSet {
		c.RemoteAddr, c.RemotePort, c.RemoteText = c.connAddr, c.connPort, c.connText
		c.connAddr, c.connText, c.realSet = netip.Addr{}, nil, false
	}
	c.Config = nil
	c.Head = c.Head[:0]
	c.Body = nil
	c.Query.Vars = nil
	c.RouteID, c.RouteName, c.ServiceID, c.ServiceName, c.Route = "", "", "", "", nil
	c.Consumer, c.Credential = nil, nil
	c.Status = 0
	c.BodyRewrite = false
	c.Resp, c.RespHead = nil, nil
	c.UpstreamOverride = nil
	c.NodeHost, c.NodePort = "", 0
	c.RequestLength, c.BytesSent, c.BodyBytesSent = 0, 0, 0
	c.uri, c.path, c.rewrite, c.host = nil, c.path[:0], c.rewrite[:0], c.host[:0]
	c.args, c.argsSet = c.args[:0], false
	c.method = nil
	c.hostSet, c.upHost, c.sentHost, c.uriSet = false, nil, nil, false
	c.reqEdits, c.resEdits = c.reqEdits[:0], c.resEdits[:0]
	c.exited, c.exitHas, c.exitBody, c.exitType = false, false, span{}, span{}
	c.upAddrs, c.upStatus, c.upTimes, c.attempts = c.upAddrs[:0], c.upStatus[:0], c.upTimes[:0], 0
	c.arena = c.arena[:0]
	for _, i := range c.used {
		c.local[i] = nil
	}
	c.used = c.used[:0]
	c.parks = nil
}

// Begin starts a request whose head the engine copied into Head and
// parsed into Req: uri is the normalised path, host the lower-cased host
// (both copied), now when the head was complete.
func (c *Ctx) Begin(uri, host []byte, now time.Time) {
	c.path = append(c.path[:0], uri...)
	c.uri = c.path
	c.host = append(c.host[:0], host...)
	c.Start = now
	c.RequestLength = int64(len(c.Head))
}

// RouteMatch is what the engine's compiled route (Ctx.Route) says about
// a match.
type RouteMatch interface {
	// MatchedOn returns which of the route's paths and hosts, as written,
	// q matched.
	MatchedOn(q *trie.Query) (path, host string)
}

// Matched returns the path and host of the matched route, as written,
// that the request matched on: APISIX's ctx.curr_req_matched._path and
// _host (prometheus's matched_uri and matched_host labels). "" when no
// route matched, or the route has no hosts.
func (c *Ctx) Matched() (path, host string) {
	if m, ok := c.Route.(RouteMatch); ok {
		return m.MatchedOn(&c.Query)
	}
	return "", ""
}

// URI returns $uri: the normalised request path, as rewritten so far.
func (c *Ctx) URI() []byte { return c.uri }

// SetURI rewrites the path sent upstream (and $uri for later hooks), as
// ngx.req.set_uri does. The query is kept unless SetArgs changes it.
//
// It writes to a buffer of its own: the path the request was routed on
// (Query.Path, and the parameter captures that point into it) stays as
// it was, for uri_param_* and Matched in later phases.
func (c *Ctx) SetURI(uri []byte) {
	c.rewrite = append(c.rewrite[:0], uri...)
	c.uri = c.rewrite
	c.uriSet = true
}

// URIRewritten reports whether SetURI was called.
func (c *Ctx) URIRewritten() bool { return c.uriSet }

// Host returns $host: the request's host name, lower case, without port.
func (c *Ctx) Host() []byte { return c.host }

// Args returns the query string (without '?'), as rewritten so far.
func (c *Ctx) Args() []byte {
	if c.argsSet {
		return c.args
	}
	return c.Req.Query.Of(c.Head)
}

// SetArgs replaces the query string sent upstream.
func (c *Ctx) SetArgs(args []byte) {
	c.args = append(c.args[:0], args...)
	c.argsSet = true
}

// ArgsRewritten reports whether SetArgs was called.
func (c *Ctx) ArgsRewritten() bool { return c.argsSet }

// Method returns the request method, as rewritten so far.
func (c *Ctx) Method() []byte {
	if c.method != nil {
		return c.method
	}
	return c.Req.MethodName.Of(c.Head)
}

// SetMethod replaces the method sent upstream.
func (c *Ctx) SetMethod(m []byte) { c.method = c.bytes(c.store(m)) }

// MethodRewritten reports whether SetMethod was called.
func (c *Ctx) MethodRewritten() bool { return c.method != nil }

// SetUpstreamHost sets the Host sent upstream, overriding pass_host.
func (c *Ctx) SetUpstreamHost(h []byte) {
	c.upHost = c.bytes(c.store(h))
	c.hostSet = true
}

// UpstreamHostOverride returns the Host SetUpstreamHost set, if any.
func (c *Ctx) UpstreamHostOverride() ([]byte, bool) { return c.upHost, c.hostSet }

// SentUpstreamHost records the Host an attempt went upstream with, for
// $upstream_host. The engine calls it per attempt; h must stay unchanged
// for the rest of the request (it is not copied).
func (c *Ctx) SentUpstreamHost(h []byte) { c.sentHost = h }

// SetUpstream sends the request to u, an upstream compiled by the config
// builder (plugin.Env.Upstreams), instead of the route's.
func (c *Ctx) SetUpstream(u any) { c.UpstreamOverride = u }

// SetRealRemote makes addr (and port, when port > 0) the client's address
// for the rest of the request, as nginx's realip module and APISIX's
// set_real_ip do: $remote_addr, $remote_port, X-Real-IP, X-Forwarded-For
// and later plugins see it. RemoteText is then the address's canonical
// text, in the arena (valid for the request). Reset gives the next request
// on the connection the connection's address again.
func (c *Ctx) SetRealRemote(addr netip.Addr, port int) {
	if !c.realSet {
		c.connAddr, c.connPort, c.connText = c.RemoteAddr, c.RemotePort, c.RemoteText
		c.realSet = true
	}
	c.RemoteAddr = addr
	if port > 0 {
		c.RemotePort = port
	}
	off := len(c.arena)
	c.arena = addr.AppendTo(c.arena)
	c.RemoteText = c.arena[off:len(c.arena):len(c.arena)]
}

// SetConsumer records who the request authenticated as.
func (c *Ctx) SetConsumer(cred *Credential) {
	c.Credential = cred
	c.Consumer = cred.Consumer
}

// Exit ends the request with status and body (nil: the gateway's error
// page for status) and returns Stop, for a hook to return:
//
//	return c.Exit(401, msgMissingKey)
//
// body is copied. APISIX's core.response.exit: a JSON body is the encoded
// value plus "\n" (plugins encode theirs once, at compile time).
func (c *Ctx) Exit(status int, body []byte) Result {
	c.Status = status
	c.exited = true
	c.exitHas = body != nil
	c.exitBody = c.store(body)
	return Stop
}

// SetExitContentType sets the Content-Type of the exit body (default
// text/plain; charset=utf-8, nginx's default_type as APISIX configures it).
func (c *Ctx) SetExitContentType(ct string) { c.exitType = c.storeString(ct) }

// Exited reports whether a hook ended the request, and with what: the
// body (has is false when the gateway's error page should be sent) and
// its content type (nil: the default).
func (c *Ctx) Exited() (exited bool, body []byte, has bool, contentType []byte) {
	return c.exited, c.bytes(c.exitBody), c.exitHas, c.bytes(c.exitType)
}

// ReplaceExitBody swaps the exit body (_meta.error_response).
func (c *Ctx) ReplaceExitBody(body []byte) {
	c.exitHas = true
	c.exitBody = c.store(body)
}

// ClearExit forgets an exit (a Lua hook that returned no code).
func (c *Ctx) ClearExit() { c.exited = false }

// Park hands j to the engine's worker pool and returns Parked, for a hook
// to return. The request resumes on its loop with j.Resume.
func (c *Ctx) Park(j Job) Result {
	c.parks = j
	return Parked
}

// TakeParked returns the job a hook parked on and forgets it (engine).
func (c *Ctx) TakeParked() Job {
	j := c.parks
	c.parks = nil
	return j
}

// Local returns the request's value for k (nil if unset). Values should
// be pointers (to pooled, per-loop objects): storing other values in an
// interface allocates.
func (c *Ctx) Local(k *LocalKey) any {
	if k.index < len(c.local) {
		return c.local[k.index]
	}
	return nil
}

// SetLocal sets the request's value for k; it is cleared at Reset.
func (c *Ctx) SetLocal(k *LocalKey, v any) {
	for k.index >= len(c.local) {
		c.local = append(c.local, nil)
	}
	c.local[k.index] = v
	c.used = append(c.used, k.index)
}

// AddAttempt records one upstream attempt for upstream_addr (the node's
// address) and, once known, its status and time (Finish).
func (c *Ctx) AddAttempt(addr string) {
	if c.attempts > 0 {
		c.upAddrs = append(c.upAddrs, ", "...)
	}
	c.upAddrs = append(c.upAddrs, addr...)
	c.attempts++
}

// FinishAttempt records the last attempt's status (0: no response, which
// nginx writes as 502 or 504 depending on the failure) and duration.
func (c *Ctx) FinishAttempt(status int, took time.Duration) {
	if len(c.upStatus) > 0 {
		c.upStatus = append(c.upStatus, ", "...)
		c.upTimes = append(c.upTimes, ", "...)
	}
	c.upStatus = appendInt(c.upStatus, status)
	c.upTimes = appendSeconds(c.upTimes, took)
}

// UpstreamStatuses returns upstream_status: each attempt's status, ", "
// separated (X-APISIX-Upstream-Status).
func (c *Ctx) UpstreamStatuses() []byte { return c.upStatus }

// Attempts returns how many upstream attempts the request made.
func (c *Ctx) Attempts() int { return c.attempts }
