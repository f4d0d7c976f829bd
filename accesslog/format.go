package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/ngxbase64"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// DefaultFormat is APISIX's access_log_format (apisix/cli/config.lua).
const DefaultFormat = `$remote_addr - $remote_user [$time_local] $http_host "$request" $status $body_bytes_sent ` +
	`$request_time "$http_referer" "$http_user_agent" $upstream_addr $upstream_status $upstream_response_time ` +
	`"$upstream_scheme://$upstream_host$upstream_uri" "$apisix_request_id"`

// CombinedFormat is nginx's predefined "combined" format.
const CombinedFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

// Escape is how variable values are escaped (nginx's log_format escape=).
type Escape uint8

// Escapes.
const (
	// EscapeDefault writes '"', '\', control and non-ASCII bytes as \xHH,
	// and "-" for a variable that has no value.
	EscapeDefault Escape = iota
	// EscapeJSON escapes as a JSON string's content; a variable without a
	// value writes nothing.
	EscapeJSON
	// EscapeNone writes values as they are.
	EscapeNone
)

var escapeNames = [...]string{"default", "json", "none"}

func (e Escape) String() string {
	if int(e) < len(escapeNames) {
		return escapeNames[e]
	}
	return "invalid"
}

// ParseEscape decodes access_log_format_escape ("" is default).
func ParseEscape(s string) (Escape, error) {
	if s == "" {
		return EscapeDefault, nil
	}
	for i, n := range escapeNames {
		if n == s {
			return Escape(i), nil
		}
	}
	return 0, fmt.Errorf("accesslog: escape %q: %w", s, ErrBadEscape)
}

// Errors of the package.
var (
	// ErrBadEscape: an access_log_format_escape that is not default, json or none.
	ErrBadEscape = errors.New("accesslog: escape must be default, json or none")
	// ErrBadFormat: a format that does not parse (an unclosed ${).
	ErrBadFormat = errors.New("accesslog: malformed format")
)

// special are the variables the access log computes itself: nginx has
// them, the request context does not.
type special uint8

const (
	spNone       special = iota
	spRequest            // $request: the request line as sent
	spRemoteUser         // $remote_user: the Basic authorization's user
	spTimeLocal          // $time_local, rendered once per second per loop
	spTimeISO            // $time_iso8601, likewise
	spRequestID          // $request_id, $apisix_request_id: 32 random hex digits
)

var specials = map[string]special{
	"request":           spRequest,
	"remote_user":       spRemoteUser,
	"time_local":        spTimeLocal,
	"time_iso8601":      spTimeISO,
	"request_id":        spRequestID,
	"apisix_request_id": spRequestID,
}

// op is one piece of a format: literal text or a variable.
type op struct {
	lit []byte
	v   expr.Var
	sp  special
	isV bool
}

// Format is a compiled log format. Immutable.
type Format struct {
	ops     []op
	escape  Escape
	times   bool // uses $time_local or $time_iso8601
	unknown []string
}

// Compile parses an nginx log format ("$name" or "${name}" variables,
// everything else literal) once; lines are rendered from the ops.
func Compile(format string, esc Escape) (*Format, error) {
	f := &Format{escape: esc}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			f.ops = append(f.ops, op{lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(format); {
		c := format[i]
		if c != '$' {
			lit = append(lit, c)
			i++
			continue
		}
		var name string
		switch {
		case i+1 < len(format) && format[i+1] == '{':
			end := strings.IndexByte(format[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("accesslog: %q: unclosed ${: %w", format, ErrBadFormat)
			}
			name = format[i+2 : i+2+end]
			i += 3 + end
		default:
			j := i + 1
			for j < len(format) && isNameByte(format[j]) {
				j++
			}
			name = format[i+1 : j]
			i = j
		}
		if name == "" {
			lit = append(lit, '$')
			continue
		}
		flush()
		o := op{isV: true, sp: specials[name]}
		if o.sp == spNone {
			o.v = expr.ParseVar(name)
			if o.v.Kind == expr.VarUnknown {
				f.unknown = append(f.unknown, name)
			}
		}
		f.times = f.times || o.sp == spTimeLocal || o.sp == spTimeISO
		f.ops = append(f.ops, o)
	}
	flush()
	return f, nil
}

// Unknown lists the variables the format names that sluice does not have;
// they log as absent ("-").
func (f *Format) Unknown() []string { return f.unknown }

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// lineState is what rendering needs beyond the request: a loop's caches
// and scratch. Loop-only.
type lineState struct {
	sec     int64
	local   []byte // $time_local for sec
	iso     []byte // $time_iso8601 for sec
	rng     *rand.ChaCha8
	id      [32]byte
	idSet   bool
	scratch []byte // a decoded Authorization
}

func newLineState(seed [32]byte) *lineState {
	return &lineState{rng: rand.NewChaCha8(seed), local: make([]byte, 0, 32), iso: make([]byte, 0, 32)}
}

// Append renders c's line (with its "\n") onto dst.
func (f *Format) Append(dst []byte, c *reqctx.Ctx, st *lineState) []byte {
	if f.times {
		now := time.Now()
		if sec := now.Unix(); sec != st.sec {
			st.sec = sec
			st.local = now.AppendFormat(st.local[:0], "02/Jan/2006:15:04:05 -0700")
			st.iso = now.AppendFormat(st.iso[:0], "2006-01-02T15:04:05-07:00")
		}
	}
	st.idSet = false
	for i := range f.ops {
		o := &f.ops[i]
		if !o.isV {
			dst = append(dst, o.lit...)
			continue
		}
		val, ok := f.value(o, c, st)
		dst = f.appendValue(dst, val, ok)
	}
	return append(dst, '\n')
}

var (
	basicPrefix = []byte("basic ")
	hexDigits   = "0123456789abcdef"
)

func (f *Format) value(o *op, c *reqctx.Ctx, st *lineState) ([]byte, bool) {
	switch o.sp {
	case spNone:
		return c.Value(&o.v)
	case spRequest:
		line := c.Head
		if i := bytes.IndexByte(line, '\r'); i >= 0 {
			line = line[:i]
		} else if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		return line, len(line) > 0
	case spRemoteUser:
		return remoteUser(c, st)
	case spTimeLocal:
		return st.local, true
	case spTimeISO:
		return st.iso, true
	case spRequestID:
		if !st.idSet {
			st.idSet = true
			for i := 0; i < len(st.id); i += 16 {
				x := st.rng.Uint64()
				for j := range 16 {
					st.id[i+j] = hexDigits[x>>(60-4*uint(j))&0xf]
				}
			}
		}
		return st.id[:], true
	}
	return nil, false
}

// remoteUser is nginx's $remote_user: the user of a Basic Authorization.
func remoteUser(c *reqctx.Ctx, st *lineState) ([]byte, bool) {
	h, ok := c.Header("Authorization")
	if !ok || len(h) < len(basicPrefix) || !asciiFoldEqual(h[:len(basicPrefix)], basicPrefix) {
		return nil, false
	}
	enc := bytes.TrimLeft(h[len(basicPrefix):], " ")
	if st.scratch, ok = ngxbase64.Decode(st.scratch[:0], enc); !ok {
		return nil, false
	}
	user, _, found := bytes.Cut(st.scratch, []byte{':'})
	if !found {
		return nil, false
	}
	return user, true
}

func asciiFoldEqual(a, lower []byte) bool {
	for i, c := range a {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

const upperHex = "0123456789ABCDEF"

// escapeDefault and escapeJSON mark the bytes each escaping rewrites.
var escapeDefault, escapeJSON = func() (d, j [256]bool) {
	for b := range 256 {
		d[b] = b < 0x20 || b == '"' || b == '\\' || b >= 0x7f
		j[b] = b < 0x20 || b == '"' || b == '\\'
	}
	return d, j
}()

// appendValue writes one variable's value with the format's escaping.
// Runs of bytes that need no escaping are copied whole.
func (f *Format) appendValue(dst, v []byte, ok bool) []byte {
	switch f.escape {
	case EscapeNone:
		return append(dst, v...)
	case EscapeJSON:
		for len(v) > 0 {
			i := 0
			for i < len(v) && !escapeJSON[v[i]] {
				i++
			}
			dst = append(dst, v[:i]...)
			if i == len(v) {
				break
			}
			switch b := v[i]; b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf]) // ngx_escape_json: lower case
			}
			v = v[i+1:]
		}
		return dst
	}
	if !ok {
		return append(dst, '-')
	}
	for len(v) > 0 {
		i := 0
		for i < len(v) && !escapeDefault[v[i]] {
			i++
		}
		dst = append(dst, v[:i]...)
		if i == len(v) {
			break
		}
		b := v[i]
		dst = append(dst, '\\', 'x', upperHex[b>>4], upperHex[b&0xf])
		v = v[i+1:]
	}
	return dst
}
