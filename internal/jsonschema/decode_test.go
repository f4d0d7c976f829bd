package jsonschema

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// decodeCases are documents at the edges of what the fast decoder takes:
// each must decode exactly as encoding/json decodes it, or fail with its
// error.
var decodeCases = []string{
	`{"id": "1", "uri": "/svc1/api/v1/res1", "methods": ["GET"], "upstream_id": "a", "priority": 0, "status": 1}`,
	`{"uri": "/hello", "upstream": {"nodes": {"127.0.0.1:1980": 1}, "type": "roundrobin"}, "plugins": {"limit-count": {"count": 2, "time_window": 60.5}}}`,
	`{}`, `[]`, ` { } `, `[ ]`, `{"a": {}, "b": []}`, `[[[]]]`, `null`, `true`, `false`, `"s"`, `0`, `-0`, `1`,
	`-1`, `0.5`, `-0.0`, `1e3`, `1E-3`, `1e+3`, `123456789012345`, `1234567890123456`, `12345678901234567890`,
	`9007199254740993`, `1.7976931348623157e308`, `1e309`, `-1e309`, `4.9e-324`, `1e-400`,
	`01`, `-`, `-a`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x10`, `1 2`, `NaN`, `Infinity`,
	`{"a": 1, "a": 2}`, `{"a": 1,}`, `[1,]`, `{"a" 1}`, `{a: 1}`, `{"a": 1`, `[1`, `"abc`, `{"a":}`, `{,}`,
	`"a\"b\\c\/d\be\ff\ng\rh\ti"`, `"\u0041"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\uDFFF"`, `"\x"`, `"\`, `"a\`,
	`"é"`, `"日本"`, "\"\xff\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", "\"\\n\xff\"", "\"\x01\"", "\"\t\"", "\"\x7f\"",
	"\u2028", "\"\u2028\"", "\ufeff{}", `{"a": tru}`, `nul`, `nulll`, `falsey`, `[true false]`, "{\"a\"\n:\r1\t}",
	``, ` `, `{"a": 1} x`, `{"a": 1}}`,
	strings.Repeat("[", 99) + strings.Repeat("]", 99), strings.Repeat("[", 101) + strings.Repeat("]", 101),
	strings.Repeat(`{"a":`, 150) + "1" + strings.Repeat("}", 150), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
}

func TestDecodeJSONMatchesEncodingJSON(t *testing.T) {
	for _, doc := range decodeCases {
		checkDecode(t, []byte(doc))
	}
}

// TestDecodeJSONFast: the documents a large config is made of are read
// by the fast decoder, not handed to encoding/json.
func TestDecodeJSONFast(t *testing.T) {
	for _, doc := range []string{decodeCases[0], decodeCases[1], `{"a": "x\ny", "b": [1.5, -2, null, true]}`} {
		d := decoder{b: []byte(doc)}
		if _, ok := d.document(); !ok {
			t.Errorf("%s: left to encoding/json", doc)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, doc := range decodeCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkDecode(t, doc) })
}

func checkDecode(t *testing.T, doc []byte) {
	t.Helper()
	var want any
	wantErr := json.Unmarshal(doc, &want)
	got, err := DecodeJSON(doc)
	switch {
	case wantErr != nil || err != nil:
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Errorf("%q: error %v, encoding/json's %v", doc, err, wantErr)
		}
	case !sameJSON(got, want):
		t.Errorf("%q: decoded %#v, encoding/json %#v", doc, got, want)
	}
}

// sameJSON is deep equality of decoded values down to the dynamic types,
// nil versus empty, and the bits of every float (-0 is not 0).
func sameJSON(a, b any) bool {
	switch ta := a.(type) {
	case map[string]any:
		tb, ok := b.(map[string]any)
		if !ok || (ta == nil) != (tb == nil) || len(ta) != len(tb) {
			return false
		}
		for k, va := range ta {
			vb, ok := tb[k]
			if !ok || !sameJSON(va, vb) {
				return false
			}
		}
		return true
	case []any:
		tb, ok := b.([]any)
		if !ok || (ta == nil) != (tb == nil) || len(ta) != len(tb) {
			return false
		}
		for i := range ta {
			if !sameJSON(ta[i], tb[i]) {
				return false
			}
		}
		return true
	case float64:
		fb, ok := b.(float64)
		return ok && math.Float64bits(ta) == math.Float64bits(fb)
	}
	return a == b
}
