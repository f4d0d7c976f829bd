package http1

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httputil"
	"slices"
	"testing"
)

// encodeChunked builds a valid chunked body for data, split into chunks of
// random sizes, with random extensions and trailers.
func encodeChunked(rng *rand.Rand, data []byte) []byte {
	var b []byte
	for len(data) > 0 {
		n := 1 + rng.IntN(len(data))
		if rng.IntN(3) == 0 {
			b = fmt.Appendf(b, "%X", n)
		} else {
			b = fmt.Appendf(b, "%x", n)
		}
		if rng.IntN(4) == 0 {
			b = append(b, ";ext=\"v\";flag"...)
		}
		b = append(b, "\r\n"...)
		b = append(b, data[:n]...)
		b = append(b, "\r\n"...)
		data = data[n:]
	}
	b = append(b, "0\r\n"...)
	if rng.IntN(2) == 0 {
		b = append(b, "X-Checksum: abc\r\nX-Other:\tv v\r\n"...)
	}
	return append(b, "\r\n"...)
}

// frameAll feeds wire to a fresh Body in pieces cut at the given points and
// returns the data, the bytes consumed, and whether the body completed.
func frameAll(t *testing.T, kind BodyKind, length int64, wire []byte, cuts []int) (data []byte, used int, done bool, err error) {
	t.Helper()
	lim := Limits{}.WithDefaults()
	var b Body
	b.Reset(kind, length, &lim)
	pending := []byte{}
	prev := 0
	for _, cut := range append(cuts, len(wire)) {
		pending = append(pending, wire[prev:cut]...)
		prev = cut
		for len(pending) > 0 && !b.Done() {
			n, d, err := b.Next(pending)
			if err != nil {
				return data, used, false, err
			}
			if n == 0 {
				t.Fatalf("Next made no progress on %q", pending)
			}
			data = append(data, d...)
			used += n
			pending = pending[n:]
		}
	}
	return data, used, b.Done(), nil
}

func TestChunkedRoundTripAnySplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		data := make([]byte, rng.IntN(3000))
		for j := range data {
			data[j] = byte(rng.IntN(256))
		}
		wire := encodeChunked(rng, data)
		next := []byte("GET /next HTTP/1.1\r\n")
		stream := append(append([]byte{}, wire...), next...)
		var cuts []int
		for c := 0; c < rng.IntN(20); c++ {
			cuts = append(cuts, rng.IntN(len(stream)+1))
		}
		slices.Sort(cuts)
		got, used, done, err := frameAll(t, BodyChunked, 0, stream, cuts)
		if err != nil {
			t.Fatalf("case %d: %v\nwire %q", i, err, wire)
		}
		if !done || used != len(wire) || !bytes.Equal(got, data) {
			t.Fatalf("case %d: done=%v used=%d/%d data equal=%v", i, done, used, len(wire), bytes.Equal(got, data))
		}
	}
}

func TestContentLengthFraming(t *testing.T) {
	wire := []byte("0123456789NEXT")
	for cut := 0; cut <= len(wire); cut++ {
		got, used, done, err := frameAll(t, BodyLength, 10, wire, []int{cut})
		if err != nil || !done || used != 10 || string(got) != "0123456789" {
			t.Fatalf("cut %d: %q %d %v %v", cut, got, used, done, err)
		}
	}
}

func TestCloseDelimitedTakesEverything(t *testing.T) {
	got, used, done, err := frameAll(t, BodyToClose, 0, []byte("abc"), []int{1})
	if err != nil || done || used != 3 || string(got) != "abc" {
		t.Fatalf("%q %d %v %v", got, used, done, err)
	}
}

func TestTrailerSectionIsBounded(t *testing.T) {
	lim := Limits{MaxHeadBytes: 64}.WithDefaults()
	var b Body
	b.Reset(BodyChunked, 0, &lim)
	wire := append([]byte("0\r\nX: "), bytes.Repeat([]byte("a"), 100)...)
	if _, _, err := b.Next(wire); err != ErrBadTrailer {
		t.Fatalf("got %v, want ErrBadTrailer", err)
	}
}

func TestChunkExtensionIsBounded(t *testing.T) {
	lim := Limits{}.WithDefaults()
	var b Body
	b.Reset(BodyChunked, 0, &lim)
	wire := append([]byte("5;"), bytes.Repeat([]byte("a"), maxChunkExtension+1)...)
	if _, _, err := b.Next(wire); err != ErrBadChunkExtension {
		t.Fatalf("got %v, want ErrBadChunkExtension", err)
	}
}

// checkChunkedAgainstStdlib is the differential oracle: whatever our framer
// accepts as a complete chunked body, Go's decoder must decode to the same
// data. (Go's is more lenient, so the converse does not hold.)
func checkChunkedAgainstStdlib(t *testing.T, wire []byte) {
	data, used, done, err := frameAll(t, BodyChunked, 0, wire, nil)
	if err != nil || !done {
		return
	}
	std, stdErr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(wire[:used])))
	if stdErr != nil {
		t.Fatalf("we accepted %q, net/http rejects it: %v", wire[:used], stdErr)
	}
	if !bytes.Equal(std, data) {
		t.Fatalf("data differs for %q: ours %q, net/http %q", wire[:used], data, std)
	}
}
