package engine

import (
	"bytes"
	"strconv"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/trie"
)

// requestVars serves expr variables from the request being routed. It lives
// in the clientConn and is valid only during dispatch (head points into the
// loop's read buffer); nothing it returns is retained. Loop-only.
type requestVars struct {
	cc     *clientConn
	head   []byte // the request head
	body   []byte // the whole body, when it is already buffered (post_arg_)
	uri    []byte // normalised path
	params *trie.Params
	port   [6]byte
}

var _ expr.Vars = (*requestVars)(nil)

var (
	schemeValue = []byte("http")
	formType    = []byte("application/x-www-form-urlencoded")
)

// Value implements expr.Vars with nginx's meaning for each variable.
func (rv *requestVars) Value(v *expr.Var) ([]byte, bool) {
	cc := rv.cc
	r := &cc.req
	switch v.Kind {
	case expr.VarURI:
		return rv.uri, true
	case expr.VarRequestURI:
		return r.Target.Of(rv.head), true
	case expr.VarHost:
		return lowerHost(cc.l, r.HostName.Of(rv.head)), true
	case expr.VarRemoteAddr:
		return cc.remoteText, true
	case expr.VarRemotePort:
		return strconv.AppendInt(rv.port[:0], int64(cc.remotePort), 10), true
	case expr.VarServerPort:
		return cc.localPort, true
	case expr.VarRequestMethod:
		return r.MethodName.Of(rv.head), true
	case expr.VarScheme:
		return schemeValue, true
	case expr.VarQueryString:
		return r.Query.Of(rv.head), !r.Query.Empty()
	case expr.VarArg:
		return formValue(r.Query.Of(rv.head), v.Name)
	case expr.VarHTTP:
		for i := range r.Headers {
			h := &r.Headers[i]
			if expr.HeaderNameMatches(h.Name.Of(rv.head), v.Name) {
				return h.Value.Of(rv.head), true
			}
		}
		return nil, false
	case expr.VarCookie:
		for i := range r.Headers {
			h := &r.Headers[i]
			if expr.HeaderNameMatches(h.Name.Of(rv.head), "cookie") {
				if val, ok := cookieValue(h.Value.Of(rv.head), v.Name); ok {
					return val, true
				}
			}
		}
		return nil, false
	case expr.VarPostArg:
		if rv.body == nil || !rv.formBody() {
			return nil, false
		}
		return formValue(rv.body, v.Name)
	case expr.VarURIParam:
		if rv.params == nil {
			return nil, false
		}
		return rv.params.Get(v.Name)
	}
	return nil, false
}

// formBody reports whether the request body is urlencoded form data.
func (rv *requestVars) formBody() bool {
	r := &rv.cc.req
	for i := range r.Headers {
		h := &r.Headers[i]
		if expr.HeaderNameMatches(h.Name.Of(rv.head), "content_type") {
			val := h.Value.Of(rv.head)
			return len(val) >= len(formType) && http1.EqualFold(val[:len(formType)], formType)
		}
	}
	return false
}

// formValue returns the first value of name in a query string or form body,
// raw (nginx's $arg_ is not percent-decoded). Names compare ASCII
// case-insensitively, as nginx does; name is lower case.
func formValue(q []byte, name string) ([]byte, bool) {
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

// cookieValue finds name in one Cookie header value ("a=1; b=2").
func cookieValue(h []byte, name string) ([]byte, bool) {
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
