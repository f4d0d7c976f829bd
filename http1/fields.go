package http1

import "bytes"

// fieldLine is one parsed header line.
type fieldLine struct {
	name, value, line Span
	kind              HeaderKind
}

// parseFieldLine parses the field line at head[pos:], which the scanner has
// proved ends in CRLF, and returns it with the offset of the next line.
//
// Rejected: a line starting with whitespace (obs-fold), an empty or
// non-token name, whitespace between name and colon, a missing colon, and
// control bytes (NUL, bare CR, ...) in the value. A control byte other than
// NUL/CR in a Transfer-Encoding value is reported as an unknown coding (501),
// as the malformed-request catalogue lists `chunked\x0b`.
func parseFieldLine(head []byte, pos int) (f fieldLine, next int, err error) {
	lf := pos + bytes.IndexByte(head[pos:], '\n')
	crlf := lf - 1 // head[crlf] == '\r', guaranteed by the scanner
	next = lf + 1
	switch head[pos] {
	case ' ', '\t':
		return f, 0, ErrObsFold
	case '\r':
		return f, 0, ErrBareCR
	}
	i := pos
	for i < crlf && isToken[head[i]] {
		i++
	}
	if i == pos || i == crlf || head[i] != ':' {
		return f, 0, ErrBadHeaderName
	}
	f.name = spanOf(pos, i)
	f.kind = kindOf(head[pos:i])
	vs, ve := trimOWS(head, i+1, crlf)
	for j := vs; j < ve; j++ {
		if c := head[j]; !isFieldValue[c] {
			if f.kind == KindTransferEncoding && c != 0 && c != '\r' {
				return f, 0, ErrUnsupportedTransferEncoding
			}
			if c == '\r' {
				return f, 0, ErrBareCR
			}
			return f, 0, ErrBadHeaderValue
		}
	}
	f.value = spanOf(vs, ve)
	f.line = spanOf(pos, next)
	return f, next, nil
}

// codingList accumulates Transfer-Encoding elements across field lines.
type codingList struct {
	present  bool // a Transfer-Encoding line was seen
	elements int  // non-empty elements
	chunked  int  // elements equal to "chunked"
	last     bool // the last non-empty element is "chunked"
	other    bool // some element is not "chunked"
}

func (c *codingList) add(head []byte, v Span) {
	c.present = true
	end := int(v.Off + v.Len)
	for pos := int(v.Off); pos <= end; {
		s, e, next := nextListElement(head, pos, end)
		pos = next
		if s == e {
			continue
		}
		c.elements++
		c.last = EqualFoldLower(head[s:e], "chunked")
		if c.last {
			c.chunked++
		} else {
			c.other = true
		}
	}
}

// contentLength accumulates Content-Length values across field lines; all
// must agree (RFC 9112 §6.3(5) lets a recipient collapse identical values).
type contentLength struct {
	n       int64
	present bool
}

func (cl *contentLength) add(head []byte, v Span) bool {
	end := int(v.Off + v.Len)
	for pos := int(v.Off); pos <= end; {
		s, e, next := nextListElement(head, pos, end)
		pos = next
		n, ok := parseDigits(head[s:e])
		if !ok || (cl.present && n != cl.n) {
			return false
		}
		cl.n, cl.present = n, true
	}
	return true
}

// connectionTokens records what a Connection header says.
type connectionTokens struct {
	close, keepAlive, upgrade bool
	named                     [maxConnectionNames]Span
	numNamed                  int
}

// maxConnectionNames bounds the custom field names one message's Connection
// headers may list; more is refused rather than tracked.
const maxConnectionNames = 8

// add parses one Connection value; it fails when the value names a field
// that frames or routes the message, or too many fields.
func (ct *connectionTokens) add(head []byte, v Span) error {
	end := int(v.Off + v.Len)
	for pos := int(v.Off); pos <= end; {
		s, e, next := nextListElement(head, pos, end)
		pos = next
		tok := head[s:e]
		switch {
		case s == e:
		case EqualFoldLower(tok, "close"):
			ct.close = true
		case EqualFoldLower(tok, "keep-alive"):
			ct.keepAlive = true
		case EqualFoldLower(tok, "upgrade"):
			ct.upgrade = true
		default:
			switch kindOf(tok) {
			case KindHost, KindContentLength, KindTransferEncoding:
				return ErrConnectionNamesFraming
			}
			if ct.numNamed == maxConnectionNames {
				return ErrBadHeaderValue
			}
			ct.named[ct.numNamed] = spanOf(s, e)
			ct.numNamed++
		}
	}
	return nil
}

// markNamed flags the fields a Connection header named as hop-by-hop.
func (ct *connectionTokens) markNamed(head []byte, headers []Header) {
	if ct.numNamed == 0 {
		return
	}
	for i := range headers {
		h := &headers[i]
		if h.Kind.HopByHop() {
			continue
		}
		for _, n := range ct.named[:ct.numNamed] {
			if EqualFold(h.Name.Of(head), n.Of(head)) {
				h.Kind = KindConnectionNamed
				break
			}
		}
	}
}
