package jsonschema

import (
	"encoding/json"
	"testing"
)

// BenchmarkDecodeJSON is one route as bench/propagation writes a million
// of them, read by DecodeJSON and by encoding/json (what DecodeJSON was).
func BenchmarkDecodeJSON(b *testing.B) {
	doc := []byte(decodeCases[0])
	b.Run("DecodeJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeJSON(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
