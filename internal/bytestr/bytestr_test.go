package bytestr

import (
	"strconv"
	"testing"
)

func TestStringViewsBytes(t *testing.T) {
	b := []byte("12.5")
	if s := String(b); s != "12.5" {
		t.Fatalf("got %q", s)
	}
	if String(nil) != "" {
		t.Fatal("nil must view as empty")
	}
}

// The point of the helper: parsing bytes as a number costs no allocation.
func TestParseWithoutAllocating(t *testing.T) {
	b := []byte("1234.5678")
	if n := testing.AllocsPerRun(100, func() { _, _ = strconv.ParseFloat(String(b), 64) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// BenchmarkParse compares the view with the copying conversion it replaces.
func BenchmarkParse(b *testing.B) {
	buf := []byte("1234.5678901234567890123456789012345")
	b.Run("view", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = strconv.ParseFloat(String(buf), 64)
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = strconv.ParseFloat(string(buf), 64)
		}
	})
}
