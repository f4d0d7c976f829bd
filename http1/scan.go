package http1

import "bytes"

// Limits bound how much of a message the parser will hold or look at. Zero
// fields take the Default* values (see WithDefaults).
type Limits struct {
	// MaxRequestLine is the longest request line (or status line) in bytes,
	// CRLF included. Default 8 KiB; longer → 414.
	MaxRequestLine int
	// MaxHeadBytes is the largest head (start line, fields, final CRLF) in
	// bytes. Default 32 KiB; larger → 431. It also bounds a chunked body's
	// trailer section.
	MaxHeadBytes int
	// MaxHeaders is the most field lines a head may have. Default 100;
	// more → 431.
	MaxHeaders int
	// MaxBodyBytes caps a request's Content-Length (413 above it). Zero
	// means unlimited, as APISIX's client_max_body_size 0. Chunked bodies
	// are checked by the engine as they stream.
	MaxBodyBytes int64
}

// Defaults for Limits.
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxHeadBytes   = 32 << 10
	DefaultMaxHeaders     = 100
)

// maxLeadingEmptyLines bounds the empty lines skipped before a request line
// (RFC 9112 §2.2 asks to ignore at least one).
const maxLeadingEmptyLines = 8

// WithDefaults returns l with zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultMaxRequestLine
	}
	if l.MaxHeadBytes <= 0 {
		l.MaxHeadBytes = DefaultMaxHeadBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	return l
}

// HeadScanner finds the end of a message head as bytes arrive, with work
// linear in the bytes seen however they are split. The zero value is ready;
// Reset it before each new message. Loop-only, like the connection it serves.
type HeadScanner struct {
	start     int  // offset of the start line (after skipped empty lines)
	lineStart int  // offset of the line being scanned
	pos       int  // bytes already scanned
	sawStart  bool // the start line is complete
	skipped   int  // empty lines skipped before the start line
}

// Reset prepares the scanner for a new message.
func (s *HeadScanner) Reset() { *s = HeadScanner{} }

// Scan looks at buf, which holds the message from its first byte (the same
// bytes as in earlier calls, plus new ones). It returns the bounds of the
// complete head, buf[start:end], or end == 0 if more bytes are needed.
// forResponse selects the limit errors (a response head that is too large
// is a bad gateway, not a client error).
//
// It rejects a bare LF, a request line longer than MaxRequestLine, and a head
// longer than MaxHeadBytes as soon as it sees them; everything else is
// Parse's job.
func (s *HeadScanner) Scan(buf []byte, lim *Limits, forResponse bool) (start, end int, err error) {
	for {
		i := bytes.IndexByte(buf[s.pos:], '\n')
		if i < 0 {
			s.pos = len(buf)
			return 0, 0, s.checkLimits(len(buf), lim, forResponse)
		}
		lf := s.pos + i
		s.pos = lf + 1
		// Limits first: a byte-at-a-time sender reaches them before the LF
		// arrives, and the answer must not depend on how bytes were split.
		if err := s.checkLimits(lf+1, lim, forResponse); err != nil {
			return 0, 0, err
		}
		if lf == 0 || buf[lf-1] != '\r' {
			if forResponse {
				return 0, 0, ErrBadResponseHeader
			}
			return 0, 0, ErrBareLF
		}
		empty := lf-1 == s.lineStart
		switch {
		case empty && !s.sawStart:
			// An empty line before the start line (RFC 9112 §2.2).
			if forResponse {
				return 0, 0, ErrBadStatusLine
			}
			if s.skipped == maxLeadingEmptyLines {
				return 0, 0, ErrBadRequestLine
			}
			s.skipped++
			s.start = s.pos
		case empty:
			return s.start, s.pos, nil
		default:
			s.sawStart = true
		}
		s.lineStart = s.pos
	}
}

// checkLimits applies the size limits to a head that has reached offset end.
func (s *HeadScanner) checkLimits(end int, lim *Limits, forResponse bool) error {
	if !s.sawStart && end-s.start > lim.MaxRequestLine {
		if forResponse {
			return ErrResponseHeadTooLarge
		}
		return ErrRequestLineTooLong
	}
	if end-s.start > lim.MaxHeadBytes {
		if forResponse {
			return ErrResponseHeadTooLarge
		}
		return ErrHeadTooLarge
	}
	return nil
}
