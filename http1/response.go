package http1

import "bytes"

// Response is a parsed response head. Spans are relative to the head passed
// to Parse. Loop-only and reused like Request.
type Response struct {
	Version Version
	Status  int
	// StatusLine is the status code and reason phrase ("200 OK"), as sent.
	StatusLine Span

	Body          BodyKind
	ContentLength int64 // the Content-Length value, when HasLength
	// HasLength and Chunked say what the framing fields declared, even when
	// the response has no body (HEAD, 304): a proxy passes them on.
	HasLength, Chunked bool

	// KeepAlive reports whether the upstream connection may carry another
	// request after this response (and its body) completes.
	KeepAlive bool

	Headers []Header
}

// Reset clears r for reuse, keeping the header storage.
func (r *Response) Reset() {
	h := r.Headers[:0]
	*r = Response{Headers: h}
}

// Interim reports a 1xx status other than 101: more heads follow.
func (r *Response) Interim() bool { return r.Status >= 100 && r.Status < 200 && r.Status != 101 }

// Parse validates a complete response head from an upstream. method is the
// request's method, which decides whether a body follows (HEAD never has one).
// Every error carries status 502: the gateway cannot relay what it cannot frame.
func (r *Response) Parse(head []byte, method Method, lim *Limits) error {
	r.Reset()
	if r.Headers == nil {
		r.Headers = make([]Header, 0, initialHeaders)
	}
	pos, err := r.parseStatusLine(head)
	if err != nil {
		return err
	}
	var (
		cl   contentLength
		te   codingList
		conn connectionTokens
	)
	for pos < len(head)-2 {
		f, next, err := parseFieldLine(head, pos)
		if err != nil {
			return ErrBadResponseHeader
		}
		pos = next
		if len(r.Headers) == lim.MaxHeaders {
			return ErrResponseHeadTooLarge
		}
		r.Headers = append(r.Headers, Header{Name: f.name, Value: f.value, Line: f.line, Kind: f.kind})
		switch f.kind {
		case KindContentLength:
			if !cl.add(head, f.value) {
				return ErrBadResponseFraming
			}
		case KindTransferEncoding:
			te.add(head, f.value)
		case KindConnection:
			if conn.add(head, f.value) != nil {
				return ErrBadResponseHeader
			}
		}
	}
	conn.markNamed(head, r.Headers)
	if r.Version == HTTP11 {
		r.KeepAlive = !conn.close
	} else {
		r.KeepAlive = conn.keepAlive && !conn.close
	}
	r.HasLength, r.ContentLength = cl.present, cl.n
	r.Chunked = te.present && te.elements == 1 && te.chunked == 1
	switch {
	case r.Status < 200 || r.Status == 204 || r.Status == 304 || method == MethodHead:
		// RFC 9112 §6.3(1): no body whatever the framing fields say; they
		// still have to be well-formed (checked above) to be trusted.
		if te.present && cl.present {
			return ErrBadResponseFraming
		}
	case te.present:
		// Only a plain "chunked" is relayed: a response with another
		// transfer coding would need decoding we do not do.
		if cl.present || te.elements != 1 || te.chunked != 1 || r.Version == HTTP10 {
			return ErrBadResponseFraming
		}
		r.Body = BodyChunked
	case cl.present:
		r.Body = BodyLength
		if cl.n == 0 {
			r.Body = BodyNone
		}
	default:
		r.Body = BodyToClose
		r.KeepAlive = false
	}
	return nil
}

// parseStatusLine parses "HTTP/1.x SP 3DIGIT SP [reason] CRLF". A missing
// reason with its SP is accepted (common in the wild and unambiguous).
func (r *Response) parseStatusLine(head []byte) (int, error) {
	lf := bytes.IndexByte(head, '\n')
	line := head[:lf-1]
	if len(line) < 12 || line[8] != ' ' {
		return 0, ErrBadStatusLine
	}
	v, err := parseVersion(line[:8])
	if err != nil {
		return 0, ErrBadStatusLine
	}
	r.Version = v
	code := line[9:12]
	for _, c := range code {
		if c < '0' || c > '9' {
			return 0, ErrBadStatusLine
		}
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if r.Status < 100 {
		return 0, ErrBadStatusLine
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return 0, ErrBadStatusLine
		}
		for _, c := range line[13:] {
			if !isFieldValue[c] {
				return 0, ErrBadStatusLine
			}
		}
	}
	r.StatusLine = spanOf(9, len(line))
	return lf + 1, nil
}
