package jsonschema

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// DecodeJSON decodes one JSON document the way validation expects it:
// objects as map[string]any, arrays as []any, strings, float64, bool and
// nil, exactly as encoding/json decodes into an any. Numbers become
// float64, as they are doubles in APISIX's Lua (an integer id above 2^53 is
// as imprecise there as here).
//
// A document in the common shape is read by a decoder of its own, in one
// pass without reflection: encoding/json's generic decode was the largest
// part of loading a million routes (issue 13). Anything that decoder does
// not take (invalid JSON, \u escapes, invalid UTF-8, numbers out of range,
// deep nesting) goes to encoding/json, so the values and every error text
// stay encoding/json's (decode_test.go checks both against it).
func DecodeJSON(b []byte) (any, error) {
	d := decoder{b: b}
	if v, ok := d.document(); ok {
		return v, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// maxFastDepth is the nesting the fast decoder reads; deeper documents go
// to encoding/json (whose own limit is 10000).
const maxFastDepth = 100

// decoder reads the JSON it takes in one pass over b; each method reports
// false for anything it leaves to encoding/json.
type decoder struct {
	b       []byte
	i       int
	depth   int
	scratch []byte // unescaping
}

func (d *decoder) document() (any, bool) {
	v, ok := d.value()
	if !ok {
		return nil, false
	}
	d.space()
	return v, d.i == len(d.b)
}

func (d *decoder) space() { d.i = SkipSpace(d.b, d.i) }

// SkipSpace returns the index of the first byte at or after i in b that
// is not JSON white space (len(b) if none).
func SkipSpace(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return i
		}
	}
	return i
}

func (d *decoder) value() (any, bool) {
	d.space()
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, ok := d.string()
		return s, ok
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

func (d *decoder) literal(word string) bool {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return false
	}
	d.i += len(word)
	return true
}

func (d *decoder) object() (any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	d.i++ // {
	m := map[string]any{}
	if d.closes('}') {
		return m, true
	}
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, false
		}
		k, ok := d.string()
		if !ok {
			return nil, false
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, false
		}
		d.i++
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated key: the last wins, as in encoding/json
		if end, ok := d.after('}'); !ok {
			return nil, false
		} else if end {
			return m, true
		}
	}
}

func (d *decoder) array() (any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	d.i++ // [
	a := []any{}
	if d.closes(']') {
		return a, true
	}
	for {
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if end, ok := d.after(']'); !ok {
			return nil, false
		} else if end {
			return a, true
		}
	}
}

// closes consumes close if it is the next byte past white space: an empty
// object or array, which leaves its nesting level.
func (d *decoder) closes(close byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == close {
		d.i++
		d.depth--
		return true
	}
	return false
}

// after reads what follows a member or an element: ',' (another one
// comes) or close (end: the object or array is done). ok is false for
// anything else.
func (d *decoder) after(close byte) (end, ok bool) {
	d.space()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return false, true
	case close:
		d.i++
		d.depth--
		return true, true
	}
	return false, false
}

// string reads a string at d.i (its opening quote).
func (d *decoder) string() (string, bool) {
	s, next, escaped, ok := ScanString(d.b, d.i+1, d.scratch[:0])
	if !ok {
		return "", false
	}
	if escaped {
		d.scratch = s
	}
	d.i = next
	return string(s), true
}

// ScanString reads the JSON string whose body starts at b[i], just after
// its opening quote, and returns its bytes and the index after its closing
// quote. The bytes are a view of b when the string has no escape (escaped
// false); otherwise they are unescaped into scratch, appended. Escapes other
// than \u are unescaped here; ok is false for what DecodeJSON leaves to
// encoding/json (a \u escape: surrogates, invalid code points; invalid
// UTF-8, which it replaces by U+FFFD) and for what is not a string (a raw
// control character, no closing quote). config's fast route decoder reads
// its strings with it too.
func ScanString(b []byte, i int, scratch []byte) (s []byte, next int, escaped, ok bool) {
	start := i
	ascii := true
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s = b[start:i]
			return s, i + 1, false, ascii || utf8.Valid(s)
		case c == '\\':
			s, next, ok = scanEscaped(b, start, i, scratch)
			return s, next, true, ok
		case c < 0x20:
			return nil, 0, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false, false
}

// scanEscaped finishes a string that started at start and has an escape at
// i.
func scanEscaped(b []byte, start, i int, scratch []byte) ([]byte, int, bool) {
	buf := append(scratch, b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return buf, i + 1, utf8.Valid(buf)
		case c < 0x20:
			return nil, 0, false
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return nil, 0, false
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		default: // \u, or not an escape
			return nil, 0, false
		}
		i += 2
	}
	return nil, 0, false
}

// number reads a number in JSON's grammar. Integers of up to 15 digits
// (exact in a float64) are converted here; the rest by strconv, as
// encoding/json does.
func (d *decoder) number() (any, bool) {
	start := d.i
	neg := d.b[d.i] == '-'
	if neg {
		d.i++
	}
	digits := d.i
	switch {
	case d.i >= len(d.b):
		return nil, false
	case d.b[d.i] == '0':
		d.i++
	case '1' <= d.b[d.i] && d.b[d.i] <= '9':
		d.skipDigits()
	default:
		return nil, false
	}
	integer := d.i - digits
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !d.skipDigits() {
			return nil, false
		}
		integer = -1
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !d.skipDigits() {
			return nil, false
		}
		integer = -1
	}
	if 0 < integer && integer <= 15 {
		var n uint64
		for _, c := range d.b[digits:d.i] {
			n = n*10 + uint64(c-'0')
		}
		f := float64(n)
		if neg {
			f = -f // -0 too, as strconv reads it
		}
		return f, true
	}
	f, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
	if err != nil {
		return nil, false // out of range: encoding/json's error
	}
	return f, true
}

// skipDigits skips [0-9]* and reports whether there was at least one.
func (d *decoder) skipDigits() bool {
	from := d.i
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > from
}
