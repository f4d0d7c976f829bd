package http1

// maxChunkExtension bounds one chunk line's extensions (RFC 9112 §7.1.1 asks
// recipients to limit them); nobody needs more.
const maxChunkExtension = 4096

// maxChunkSize bounds one chunk's size so the arithmetic cannot overflow.
const maxChunkSize = 1 << 60

// maxChunkSizeDigits bounds the hex digits of a chunk-size, leading zeros
// included: Go's net/http refuses more than 16, and a size one parser reads
// as the last chunk and another refuses is ambiguous framing (found by
// FuzzChunked: "00000000000000000\r\n\r\n").
const maxChunkSizeDigits = 16

type chunkState uint8

const (
	stSizeFirst    chunkState = iota // first hex digit of a chunk-size
	stSize                           // more hex digits, ';' or CR
	stExt                            // chunk extension bytes up to CR
	stSizeLF                         // LF ending the chunk-size line
	stData                           // chunk data
	stDataCR                         // CR after chunk data
	stDataLF                         // LF after chunk data
	stTrailerStart                   // start of a trailer line, or CR of the final empty line
	stTrailerName                    // trailer field name up to ':'
	stTrailerValue                   // trailer field value up to CR
	stTrailerLF                      // LF ending a trailer line
	stLastLF                         // LF of the final empty line
	stDone
)

// Body frames one message body as its bytes arrive: a Content-Length
// countdown, the chunked state machine, or everything until the connection
// closes. The zero value frames an empty body. Loop-only; reuse with Reset.
type Body struct {
	kind       BodyKind
	remaining  int64 // length: body bytes left; chunked: data bytes left in this chunk
	state      chunkState
	lineBytes  int // bytes of the current chunk extension or trailer section
	sizeDigits int // hex digits of the current chunk-size
	maxTrailer int
}

// Reset prepares b for a body of the given kind; length is the
// Content-Length for BodyLength.
func (b *Body) Reset(kind BodyKind, length int64, lim *Limits) {
	*b = Body{kind: kind, remaining: length, maxTrailer: lim.MaxHeadBytes}
	if kind == BodyNone || (kind == BodyLength && length == 0) {
		b.state = stDone
	}
}

// Kind returns the framing b was reset with.
func (b *Body) Kind() BodyKind { return b.kind }

// Done reports whether the whole body has been seen.
func (b *Body) Done() bool { return b.state == stDone }

// Remaining returns the body bytes still expected for BodyLength.
func (b *Body) Remaining() int64 { return b.remaining }

// Next consumes the body bytes at the start of buf. It returns n, how many
// bytes of buf belong to the body (chunked framing included), and data, the
// message data among them: a sub-slice of buf[:n]. For a chunked body Next
// stops after each data segment, so call it again while n < len(buf) and the
// body is not done; an HTTP/1.0 relay forwards only data, everything else
// forwards buf[:n]. Bytes after the end of the body are left alone (they
// belong to the next message). A BodyToClose body never ends by itself.
func (b *Body) Next(buf []byte) (n int, data []byte, err error) {
	switch b.kind {
	case BodyChunked:
		return b.nextChunked(buf)
	case BodyToClose:
		return len(buf), buf, nil
	case BodyLength:
		if b.state == stDone {
			return 0, nil, nil
		}
		n = len(buf)
		if int64(n) >= b.remaining {
			n = int(b.remaining)
			b.state = stDone
		}
		b.remaining -= int64(n)
		return n, buf[:n], nil
	}
	return 0, nil, nil
}

func (b *Body) nextChunked(buf []byte) (int, []byte, error) {
	i := 0
	for i < len(buf) {
		c := buf[i]
		switch b.state {
		case stDone:
			return i, nil, nil
		case stData:
			start := i
			take := len(buf) - i
			if int64(take) >= b.remaining {
				take = int(b.remaining)
				b.state = stDataCR
			}
			b.remaining -= int64(take)
			i += take
			return i, buf[start:i], nil
		case stSizeFirst:
			v := hexVal(c)
			if v < 0 {
				return 0, nil, ErrBadChunkSize
			}
			b.remaining, b.state, b.sizeDigits = int64(v), stSize, 1
		case stSize:
			switch v := hexVal(c); {
			case v >= 0:
				if b.sizeDigits++; b.remaining >= maxChunkSize>>4 || b.sizeDigits > maxChunkSizeDigits {
					return 0, nil, ErrBadChunkSize
				}
				b.remaining = b.remaining<<4 | int64(v)
			case c == ';':
				b.state, b.lineBytes = stExt, 0
			case c == '\r':
				b.state = stSizeLF
			default:
				return 0, nil, ErrBadChunkSize
			}
		case stExt:
			switch {
			case c == '\r':
				b.state = stSizeLF
			case !isFieldValue[c]:
				return 0, nil, ErrBadChunkExtension
			default:
				if b.lineBytes++; b.lineBytes > maxChunkExtension {
					return 0, nil, ErrBadChunkExtension
				}
			}
		case stSizeLF:
			if c != '\n' {
				return 0, nil, ErrBadChunkSize
			}
			if b.remaining == 0 {
				b.state, b.lineBytes = stTrailerStart, 0
			} else {
				b.state = stData
			}
		case stDataCR:
			if c != '\r' {
				return 0, nil, ErrBadChunkTerminator
			}
			b.state = stDataLF
		case stDataLF:
			if c != '\n' {
				return 0, nil, ErrBadChunkTerminator
			}
			b.state = stSizeFirst
		case stTrailerStart:
			if c == '\r' {
				b.state = stLastLF
				break
			}
			if !isToken[c] {
				return 0, nil, ErrBadTrailer
			}
			b.state = stTrailerName
		case stTrailerName:
			switch {
			case c == ':':
				b.state = stTrailerValue
			case !isToken[c]:
				return 0, nil, ErrBadTrailer
			}
		case stTrailerValue:
			switch {
			case c == '\r':
				b.state = stTrailerLF
			case !isFieldValue[c]:
				return 0, nil, ErrBadTrailer
			}
		case stTrailerLF:
			if c != '\n' {
				return 0, nil, ErrBadTrailer
			}
			b.state = stTrailerStart
		case stLastLF:
			if c != '\n' {
				return 0, nil, ErrBadTrailer
			}
			b.state = stDone
			return i + 1, nil, nil
		}
		i++
		if b.state >= stTrailerStart && b.state != stDone {
			if b.lineBytes++; b.lineBytes > b.maxTrailer {
				return 0, nil, ErrBadTrailer
			}
		}
	}
	return i, nil, nil
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
