package http1

import "bytes"

// Version is an HTTP/1.x minor version.
type Version uint8

// Versions sluice speaks.
const (
	HTTP10 Version = 10
	HTTP11 Version = 11
)

// BodyKind says how a message's body is framed.
type BodyKind uint8

// Body framings.
const (
	BodyNone    BodyKind = iota // no body
	BodyLength                  // Content-Length bytes
	BodyChunked                 // chunked transfer coding
	BodyToClose                 // until the connection closes (responses only)
)

func (k BodyKind) String() string {
	switch k {
	case BodyNone:
		return "none"
	case BodyLength:
		return "length"
	case BodyChunked:
		return "chunked"
	case BodyToClose:
		return "close"
	}
	return "invalid"
}

// maxMethodLen bounds method tokens (RFC 9112 §3: an over-long method → 501).
const maxMethodLen = 32

// Request is a parsed request head. All spans are relative to the head
// passed to Parse. A Request is reused across requests on one connection
// (Parse resets it); it is loop-only.
type Request struct {
	Method     Method
	MethodName Span // the method token as sent
	Target     Span // request-target as sent
	Path       Span // path of the target (origin-form or absolute-form); empty means "/"
	Query      Span // query without '?'; empty if none
	Version    Version

	// Host is the authority to route on: the Host header, or the authority of
	// an absolute-form target (RFC 9112 §3.2.2: the target wins). HostName is
	// Host without the port; Port is the port digits, empty if none.
	Host, HostName, Port Span
	// HostFromTarget is set when Host came from an absolute-form target; the
	// engine then sends that authority upstream instead of the Host header.
	HostFromTarget bool

	Body          BodyKind
	ContentLength int64 // when Body == BodyLength

	// KeepAlive reports whether the connection may carry another request
	// after this one: HTTP/1.1 without "Connection: close", or HTTP/1.0
	// with "Connection: keep-alive".
	KeepAlive bool
	// Expect100 is set for "Expect: 100-continue" on HTTP/1.1.
	Expect100 bool
	// UpgradeRequested is set when Connection lists "upgrade" and an Upgrade
	// field is present.
	UpgradeRequested bool

	// Headers are the field lines in order, with their kinds. The slice's
	// backing array is reused: it starts at initialHeaders and grows, up to
	// Limits.MaxHeaders, to the most a connection has needed.
	Headers []Header
}

// Reset clears r for reuse, keeping the header storage.
func (r *Request) Reset() {
	h := r.Headers[:0]
	*r = Request{Headers: h}
}

// Parse validates a complete request head (as bounded by HeadScanner.Scan:
// request line through the empty line) and fills r. It rejects, with the
// status in the returned *Error, everything listed in the package doc.
func (r *Request) Parse(head []byte, lim *Limits) error {
	r.Reset()
	if r.Headers == nil {
		r.Headers = make([]Header, 0, initialHeaders)
	}
	pos, err := r.parseRequestLine(head)
	if err != nil {
		return err
	}
	var (
		hosts  int
		cl     contentLength
		te     codingList
		conn   connectionTokens
		expect bool
		upg    bool
	)
	for pos < len(head)-2 { // the head ends with an empty line
		f, next, err := parseFieldLine(head, pos)
		if err != nil {
			return err
		}
		pos = next
		if len(r.Headers) == lim.MaxHeaders {
			return ErrHeadTooLarge
		}
		r.Headers = append(r.Headers, Header{Name: f.name, Value: f.value, Line: f.line, Kind: f.kind})
		switch f.kind {
		case KindHost:
			if hosts++; hosts > 1 {
				return ErrDuplicateHost
			}
			if !r.HostFromTarget {
				if err := r.setHost(head, f.value); err != nil {
					return err
				}
			} else if !validHost(f.value.Of(head)) {
				return ErrBadHost
			}
		case KindContentLength:
			if !cl.add(head, f.value) {
				return ErrBadContentLength
			}
		case KindTransferEncoding:
			te.add(head, f.value)
		case KindConnection:
			if err := conn.add(head, f.value); err != nil {
				return err
			}
		case KindExpect:
			expect = EqualFoldLower(f.value.Of(head), "100-continue")
		case KindUpgrade:
			upg = true
		}
	}
	if r.Version == HTTP11 && hosts == 0 {
		return ErrMissingHost
	}
	switch {
	case te.present && cl.present:
		return ErrContentLengthAndChunked
	case te.present:
		switch {
		case r.Version == HTTP10, te.elements == 0, te.chunked > 1:
			return ErrBadTransferEncoding
		case te.chunked == 1 && !te.last:
			return ErrBadTransferEncoding
		case te.other:
			return ErrUnsupportedTransferEncoding
		}
		r.Body = BodyChunked
	case cl.present:
		if lim.MaxBodyBytes > 0 && cl.n > lim.MaxBodyBytes {
			return ErrBodyTooLarge
		}
		if cl.n > 0 {
			r.Body, r.ContentLength = BodyLength, cl.n
		}
	}
	conn.markNamed(head, r.Headers)
	if r.Version == HTTP11 {
		r.KeepAlive = !conn.close
		r.Expect100 = expect
	} else {
		r.KeepAlive = conn.keepAlive && !conn.close
	}
	r.UpgradeRequested = conn.upgrade && upg
	return nil
}

// parseRequestLine parses "method SP request-target SP HTTP-version CRLF"
// with exactly one SP between the parts, and returns the next line's offset.
func (r *Request) parseRequestLine(head []byte) (int, error) {
	lf := bytes.IndexByte(head, '\n')
	line := head[:lf-1]
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return 0, ErrBadRequestLine
	}
	for _, c := range line[:sp] {
		if !isToken[c] {
			if c == '\t' || c < 0x20 {
				return 0, ErrBadRequestLine
			}
			return 0, ErrBadMethod
		}
	}
	if sp > maxMethodLen {
		return 0, ErrMethodTooLong
	}
	r.MethodName = spanOf(0, sp)
	r.Method = methodOf(line[:sp])
	if r.Method == MethodConnect {
		return 0, ErrConnectNotAllowed
	}
	ts := sp + 1
	te := ts
	for te < len(line) && line[te] != ' ' {
		if !isTargetByte[line[te]] {
			if line[te] == '\t' || line[te] < 0x20 || line[te] == 0x7f {
				return 0, ErrBadRequestLine
			}
			return 0, ErrBadTarget
		}
		te++
	}
	if te == ts || te == len(line) {
		return 0, ErrBadRequestLine
	}
	r.Target = spanOf(ts, te)
	if err := r.parseTarget(head, ts, te); err != nil {
		return 0, err
	}
	v, err := parseVersion(line[te+1:])
	if err != nil {
		return 0, err
	}
	r.Version = v
	return lf + 1, nil
}

// parseVersion accepts exactly "HTTP/1.1" and "HTTP/1.0"; other well-formed
// versions get 505, anything else 400 (RFC 9112 §2.3: case-sensitive).
func parseVersion(b []byte) (Version, error) {
	if len(b) != 8 || string(b[:5]) != "HTTP/" || b[6] != '.' ||
		b[5] < '0' || b[5] > '9' || b[7] < '0' || b[7] > '9' {
		return 0, ErrBadVersion
	}
	switch string(b[5:]) {
	case "1.1":
		return HTTP11, nil
	case "1.0":
		return HTTP10, nil
	}
	return 0, ErrVersionNotSupported
}

// parseTarget splits the request-target head[ts:te] into path and query.
// origin-form ("/p?q") and absolute-form ("http://a/p?q") are accepted;
// asterisk-form only with OPTIONS.
func (r *Request) parseTarget(head []byte, ts, te int) error {
	t := head[ts:te]
	switch {
	case t[0] == '/':
		r.splitPathQuery(ts, te, head)
		return nil
	case len(t) == 1 && t[0] == '*':
		if r.Method != MethodOptions {
			return ErrBadTarget
		}
		return nil
	}
	var scheme int
	switch {
	case len(t) > 7 && EqualFoldLower(t[:7], "http://"):
		scheme = 7
	case len(t) > 8 && EqualFoldLower(t[:8], "https://"):
		scheme = 8
	default:
		return ErrBadTarget
	}
	as := ts + scheme
	ae := as
	for ae < te && head[ae] != '/' && head[ae] != '?' {
		ae++
	}
	if ae == as {
		return ErrBadTarget
	}
	if err := r.setHost(head, spanOf(as, ae)); err != nil {
		return ErrBadTarget
	}
	r.HostFromTarget = true
	if ae < te && head[ae] == '?' {
		// "http://a?q": the path is "/" (left empty) and the query follows.
		r.Query = spanOf(ae+1, te)
		return nil
	}
	r.splitPathQuery(ae, te, head)
	return nil
}

func (r *Request) splitPathQuery(ps, te int, head []byte) {
	if ps == te {
		return
	}
	if q := bytes.IndexByte(head[ps:te], '?'); q >= 0 {
		r.Path = spanOf(ps, ps+q)
		r.Query = spanOf(ps+q+1, te)
		return
	}
	r.Path = spanOf(ps, te)
}

// setHost validates an authority ("host[:port]") and records it.
func (r *Request) setHost(head []byte, v Span) error {
	b := v.Of(head)
	if !validHost(b) {
		return ErrBadHost
	}
	r.Host = v
	name := len(b)
	if i := bytes.LastIndexByte(b, ':'); i >= 0 && (b[0] != '[' || i > bytes.IndexByte(b, ']')) {
		name = i
		r.Port = Span{Off: v.Off + uint32(i) + 1, Len: uint32(len(b) - i - 1)}
	}
	r.HostName = Span{Off: v.Off, Len: uint32(name)}
	return nil
}

// validHost checks uri-host [":" port] (RFC 3986 §3.2.2): a reg-name
// (unreserved, pct-encoded, sub-delims) or a bracketed IP literal, then an
// optional port of at most 5 digits not above 65535. An empty value is valid
// (RFC 9112 §3.2).
func validHost(b []byte) bool {
	i := 0
	if len(b) > 0 && b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 2 {
			return false
		}
		for _, c := range b[1:end] {
			if !(isHexDigit(c) || c == ':' || c == '.') {
				return false
			}
		}
		i = end + 1
	} else {
		for i < len(b) && b[i] != ':' {
			if !isRegNameByte[b[i]] {
				return false
			}
			i++
		}
	}
	if i == len(b) {
		return true
	}
	if b[i] != ':' {
		return false
	}
	port := b[i+1:]
	if len(port) == 0 {
		return true
	}
	n, ok := parseDigits(port)
	return ok && len(port) <= 5 && n <= 65535
}

var isRegNameByte [256]bool

func init() {
	for c := 0; c < 256; c++ {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			isRegNameByte[c] = true
		}
	}
	for _, c := range "-._~%!$&'()*+,;=" {
		isRegNameByte[c] = true
	}
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
