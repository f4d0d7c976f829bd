package reqctx

import (
	"bytes"
	"os"
	"strconv"
	"time"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/bytestr"
)

var _ expr.Vars = (*Ctx)(nil)

var (
	schemeHTTP  = []byte("http")
	protoHTTP11 = []byte("HTTP/1.1")
	protoHTTP10 = []byte("HTTP/1.0")
	questMark   = []byte("?")
	hostField   = "host"
	formType    = []byte("application/x-www-form-urlencoded")
	hostname    = func() []byte { h, _ := os.Hostname(); return []byte(h) }()
)

// Value implements expr.Vars: APISIX's ctx.var, with nginx's meaning for
// each variable. The bytes are valid until the next Value call or edit.
func (c *Ctx) Value(v *expr.Var) ([]byte, bool) {
	r := &c.Req
	switch v.Kind {
	case expr.VarURI:
		return c.uri, true
	case expr.VarRequestURI:
		return r.Target.Of(c.Head), true
	case expr.VarHost:
		return c.host, true
	case expr.VarRemoteAddr:
		return c.RemoteText, true
	case expr.VarRemotePort:
		return strconv.AppendInt(c.num[:0], int64(c.RemotePort), 10), true
	case expr.VarServerAddr:
		return c.LocalAddr.AppendTo(c.num[:0]), c.LocalAddr.IsValid()
	case expr.VarServerPort:
		return c.LocalPort, true
	case expr.VarRequestMethod:
		return c.Method(), true
	case expr.VarScheme, expr.VarUpstreamScheme:
		return schemeHTTP, true
	case expr.VarUpstreamHost:
		// APISIX's $upstream_host: set $http_host, replaced by
		// proxy-rewrite's host, then by the pass_host the balancer applied.
		if c.sentHost != nil {
			return c.sentHost, true
		}
		if c.hostSet {
			return c.upHost, true
		}
		return c.lookup(c.reqEdits, r.Headers, c.Head, hostField, true)
	case expr.VarUpstreamURI:
		// Empty unless a plugin rewrote the uri or the args: nginx then
		// proxies the request's own uri (APISIX's set $upstream_uri '').
		if !c.uriSet && !c.argsSet {
			return nil, true
		}
		c.built = append(c.built[:0], c.URI()...)
		if a := c.Args(); len(a) > 0 {
			c.built = append(append(c.built, questMark...), a...)
		}
		return c.built, true
	case expr.VarQueryString:
		a := c.Args()
		return a, len(a) > 0
	case expr.VarIsArgs:
		if len(c.Args()) > 0 {
			return questMark, true
		}
		return nil, true
	case expr.VarArg:
		return FormValue(c.Args(), v.Name)
	case expr.VarHTTP:
		return c.lookup(c.reqEdits, r.Headers, c.Head, v.Name, true)
	case expr.VarCookie:
		return c.cookie(v.Name)
	case expr.VarPostArg:
		if c.Body == nil || !c.formBody() {
			return nil, false
		}
		return FormValue(c.Body, v.Name)
	case expr.VarURIParam:
		return c.Query.Params.Get(v.Name)
	case expr.VarRouteID:
		return str(c.RouteID)
	case expr.VarRouteName:
		return str(c.RouteName)
	case expr.VarServiceID:
		return str(c.ServiceID)
	case expr.VarServiceName:
		return str(c.ServiceName)
	case expr.VarConsumerName:
		if c.Consumer == nil {
			return nil, false
		}
		return str(c.Consumer.Name)
	case expr.VarConsumerGroupID:
		if c.Consumer == nil {
			return nil, false
		}
		return str(c.Consumer.GroupID)
	case expr.VarServerProtocol:
		if r.Version == http1.HTTP10 {
			return protoHTTP10, true
		}
		return protoHTTP11, true
	case expr.VarContentType:
		return c.lookup(c.reqEdits, r.Headers, c.Head, "content_type", true)
	case expr.VarContentLength:
		return c.lookup(c.reqEdits, r.Headers, c.Head, "content_length", true)
	case expr.VarRequestLength:
		return strconv.AppendInt(c.num[:0], c.RequestLength, 10), true
	case expr.VarHostname:
		return hostname, true
	case expr.VarUpstreamAddr:
		return c.upAddrs, len(c.upAddrs) > 0
	case expr.VarUpstreamStatus:
		return c.upStatus, len(c.upStatus) > 0
	case expr.VarUpstreamResponseTime:
		return c.upTimes, len(c.upTimes) > 0
	case expr.VarBalancerIP:
		return str(c.NodeHost)
	case expr.VarBalancerPort:
		if c.NodePort == 0 {
			return nil, false
		}
		return strconv.AppendInt(c.num[:0], int64(c.NodePort), 10), true
	case expr.VarStatus:
		if c.Status == 0 {
			return nil, false
		}
		return strconv.AppendInt(c.num[:0], int64(c.Status), 10), true
	case expr.VarRequestTime:
		return appendSeconds(c.num[:0], time.Since(c.Start)), true
	case expr.VarBodyBytesSent:
		return strconv.AppendInt(c.num[:0], c.BodyBytesSent, 10), true
	case expr.VarBytesSent:
		return strconv.AppendInt(c.num[:0], c.BytesSent, 10), true
	case expr.VarTimeISO8601:
		return time.Now().AppendFormat(c.num[:0], "2006-01-02T15:04:05-07:00"), true
	case expr.VarTimeLocal:
		return time.Now().AppendFormat(c.num[:0], "02/Jan/2006:15:04:05 -0700"), true
	case expr.VarMsec:
		return appendMsec(c.num[:0], time.Now()), true
	case expr.VarSentHTTP:
		var fields []http1.Header
		if c.Resp != nil {
			fields = c.Resp.Headers
		}
		return c.lookup(c.resEdits, fields, c.RespHead, v.Name, true)
	case expr.VarUpstreamHTTP:
		if c.Resp == nil {
			return nil, false
		}
		for i := range c.Resp.Headers {
			if h := &c.Resp.Headers[i]; expr.HeaderNameMatches(h.Name.Of(c.RespHead), v.Name) {
				return h.Value.Of(c.RespHead), true
			}
		}
	}
	return nil, false
}

// Var returns the value of the variable named name. The parsed name is
// cached per loop (Lua reads variables by name on every request); Go hooks
// keep an expr.Var from expr.ParseVar instead.
func (c *Ctx) Var(name string) ([]byte, bool) {
	if c.Loop == nil {
		v := expr.ParseVar(name)
		return c.Value(&v)
	}
	return c.Value(c.Loop.parsedVar(name))
}

// str returns a string's bytes without copying when it is a constant or
// otherwise immutable (route ids, names): the caller only reads them.
func str(s string) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	return bytestr.Bytes(s), true
}

// formBody reports whether the request body is urlencoded form data.
func (c *Ctx) formBody() bool {
	ct, ok := c.lookup(c.reqEdits, c.Req.Headers, c.Head, "content_type", true)
	return ok && len(ct) >= len(formType) && http1.EqualFold(ct[:len(formType)], formType)
}

func (c *Ctx) cookie(name string) ([]byte, bool) {
	for i := range c.Req.Headers {
		h := &c.Req.Headers[i]
		if expr.HeaderNameMatches(h.Name.Of(c.Head), "cookie") {
			if val, ok := CookieValue(h.Value.Of(c.Head), name); ok {
				return val, true
			}
		}
	}
	return nil, false
}

// FormValue returns the first value of name in a query string or form body,
// raw (nginx's $arg_ is not percent-decoded). Names compare ASCII
// case-insensitively, as nginx does; name is lower case.
func FormValue(q []byte, name string) ([]byte, bool) {
	for len(q) > 0 {
		var pair []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, nil
		}
		k, val := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			k, val = pair[:i], pair[i+1:]
		}
		if len(k) == len(name) && http1.EqualFoldLower(k, name) {
			return val, true
		}
	}
	return nil, false
}

// CookieValue finds name in one Cookie header value ("a=1; b=2").
func CookieValue(h []byte, name string) ([]byte, bool) {
	for len(h) > 0 {
		var pair []byte
		if i := bytes.IndexByte(h, ';'); i >= 0 {
			pair, h = h[:i], h[i+1:]
		} else {
			pair, h = h, nil
		}
		pair = bytes.TrimLeft(pair, " \t")
		if i := bytes.IndexByte(pair, '='); i >= 0 && i == len(name) && http1.EqualFoldLower(pair[:i], name) {
			return pair[i+1:], true
		}
	}
	return nil, false
}

func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

// appendSeconds writes d as nginx writes times: seconds with milliseconds.
func appendSeconds(dst []byte, d time.Duration) []byte {
	ms := d.Milliseconds()
	dst = strconv.AppendInt(dst, ms/1000, 10)
	dst = append(dst, '.')
	frac := ms % 1000
	dst = append(dst, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return dst
}

func appendMsec(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	dst = strconv.AppendInt(dst, ms/1000, 10)
	dst = append(dst, '.')
	frac := ms % 1000
	return append(dst, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}
