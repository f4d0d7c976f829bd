package http1

// HeaderKind classifies a header field by name, once, at parse time, so the
// engine decides what to forward with a byte compare instead of a string one.
type HeaderKind uint8

// Header kinds. KindOther is every field with no special meaning to a proxy.
const (
	KindOther HeaderKind = iota
	KindHost
	KindContentLength
	KindTransferEncoding
	KindConnection
	KindKeepAlive
	KindProxyConnection
	KindTE
	KindUpgrade
	KindExpect
	KindXForwardedFor
	KindXForwardedProto
	KindXForwardedHost
	KindXForwardedPort
	KindXRealIP
	KindForwarded
	KindServer
	// KindConnectionNamed marks a field named by a Connection header: it is
	// hop-by-hop for this message only (RFC 9110 §7.6.1).
	KindConnectionNamed
	numHeaderKinds
)

var kindNames = [numHeaderKinds]string{
	"other", "host", "content-length", "transfer-encoding", "connection", "keep-alive",
	"proxy-connection", "te", "upgrade", "expect", "x-forwarded-for", "x-forwarded-proto",
	"x-forwarded-host", "x-forwarded-port", "x-real-ip", "forwarded", "server", "connection-named",
}

func (k HeaderKind) String() string {
	if k < numHeaderKinds {
		return kindNames[k]
	}
	return "invalid"
}

// HopByHop reports whether a proxy must not forward a field of this kind as
// received (RFC 9110 §7.6.1). Content-Length and Transfer-Encoding count:
// the engine re-emits framing in canonical form.
func (k HeaderKind) HopByHop() bool {
	switch k {
	case KindContentLength, KindTransferEncoding, KindConnection, KindKeepAlive,
		KindProxyConnection, KindTE, KindUpgrade, KindConnectionNamed:
		return true
	}
	return false
}

// initialHeaders is the capacity a parser's Headers start with. Sizing them
// to Limits.MaxHeaders (100) cost 2.8 KB per client connection and per
// upstream connection, about a third of what each connection held at 4,000
// clients; typical heads have under 16 fields, and a connection whose heads
// have more grows its slice once and keeps it.
const initialHeaders = 16

// Header is one field line: its name and value (without surrounding
// whitespace) and the whole line including its CRLF, all relative to the head.
type Header struct {
	Name, Value, Line Span
	Kind              HeaderKind
}

// kindOf classifies a field name (ASCII case-insensitive).
func kindOf(name []byte) HeaderKind {
	switch len(name) {
	case 2:
		if EqualFoldLower(name, "te") {
			return KindTE
		}
	case 4:
		if EqualFoldLower(name, "host") {
			return KindHost
		}
	case 6:
		if EqualFoldLower(name, "expect") {
			return KindExpect
		}
		if EqualFoldLower(name, "server") {
			return KindServer
		}
	case 7:
		if EqualFoldLower(name, "upgrade") {
			return KindUpgrade
		}
	case 9:
		if EqualFoldLower(name, "x-real-ip") {
			return KindXRealIP
		}
		if EqualFoldLower(name, "forwarded") {
			return KindForwarded
		}
	case 10:
		if EqualFoldLower(name, "connection") {
			return KindConnection
		}
		if EqualFoldLower(name, "keep-alive") {
			return KindKeepAlive
		}
	case 14:
		if EqualFoldLower(name, "content-length") {
			return KindContentLength
		}
	case 15:
		if EqualFoldLower(name, "x-forwarded-for") {
			return KindXForwardedFor
		}
	case 16:
		if EqualFoldLower(name, "x-forwarded-host") {
			return KindXForwardedHost
		}
		if EqualFoldLower(name, "x-forwarded-port") {
			return KindXForwardedPort
		}
		if EqualFoldLower(name, "proxy-connection") {
			return KindProxyConnection
		}
	case 17:
		if EqualFoldLower(name, "transfer-encoding") {
			return KindTransferEncoding
		}
		if EqualFoldLower(name, "x-forwarded-proto") {
			return KindXForwardedProto
		}
	}
	return KindOther
}

// EqualFoldLower compares b with lower, a lower-case ASCII string, folding
// only ASCII letters. Unicode folding (strings.EqualFold maps 'ſ' to 's' and the
// Kelvin sign to 'k') would let look-alike names pass as framing headers.
func EqualFoldLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// EqualFold reports whether a and b are equal under ASCII case folding.
func EqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Character classes (RFC 9110 §5.6.2 tchar, §5.5 field-vchar).
var (
	isToken      [256]bool
	isFieldValue [256]bool // VCHAR, obs-text, SP, HTAB
	isTargetByte [256]bool // visible bytes (and obs-text) except '#' and DEL
)

func init() {
	for c := 0; c < 256; c++ {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			isToken[c] = true
		}
		isFieldValue[c] = c == '\t' || (c >= 0x20 && c != 0x7f)
		isTargetByte[c] = c > 0x20 && c != 0x7f && c != '#'
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		isToken[c] = true
	}
}

// trimOWS trims optional whitespace (SP, HTAB) from both ends of b[start:end]
// and returns the new bounds.
func trimOWS(b []byte, start, end int) (int, int) {
	for start < end && (b[start] == ' ' || b[start] == '\t') {
		start++
	}
	for end > start && (b[end-1] == ' ' || b[end-1] == '\t') {
		end--
	}
	return start, end
}

// nextListElement returns the bounds of the next comma-separated element of
// b[pos:end] with OWS trimmed, and the position after its comma. Empty
// elements are returned as empty (RFC 9110 §5.6.1 lets recipients skip them).
func nextListElement(b []byte, pos, end int) (elemStart, elemEnd, next int) {
	i := pos
	for i < end && b[i] != ',' {
		i++
	}
	elemStart, elemEnd = trimOWS(b, pos, i)
	return elemStart, elemEnd, i + 1
}

// parseDigits parses 1*DIGIT into a non-negative int64; ok is false for an
// empty string, a non-digit, or more than 18 digits (no overflow possible).
func parseDigits(b []byte) (n int64, ok bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
