package http1

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// seedsFrom returns the inputs of a datadriven file as fuzz seeds, so every
// case of the malformed-request catalogue starts the corpus.
func seedsFrom(f *testing.F, path string) [][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	var cur []byte
	inInput := false
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, "request") || strings.HasPrefix(l, "response"):
			inInput, cur = true, nil
		case l == "----":
			if inInput {
				seeds = append(seeds, cur)
			}
			inInput = false
		case inInput:
			s, err := strconv.Unquote(`"` + strings.ReplaceAll(l, `"`, `\"`) + `"`)
			if err != nil {
				f.Fatal(err)
			}
			cur = append(cur, s...)
		}
	}
	return seeds
}

// checkSpans fails if a span points outside the head.
func checkSpans(t *testing.T, head []byte, spans ...Span) {
	for _, s := range spans {
		if int(s.Off)+int(s.Len) > len(head) {
			t.Fatalf("span %+v outside head of %d bytes", s, len(head))
		}
	}
}

func FuzzRequest(f *testing.F) {
	for _, s := range seedsFrom(f, "testdata/request.txt") {
		f.Add(s)
	}
	lim := Limits{MaxRequestLine: 256, MaxHeadBytes: 1024, MaxHeaders: 16}.WithDefaults()
	f.Fuzz(func(t *testing.T, in []byte) {
		var s HeadScanner
		start, end, err := s.Scan(in, &lim, false)
		is, ie, ierr := scanIncrementally(in, &lim, false)
		if is != start || ie != end || ierr != err {
			t.Fatalf("incremental scan %d,%d,%v != one-shot %d,%d,%v", is, ie, ierr, start, end, err)
		}
		if err != nil || end == 0 {
			return
		}
		head := in[start:end]
		var r Request
		if err := r.Parse(head, &lim); err != nil {
			if st := StatusOf(err); st < 400 || st > 505 {
				t.Fatalf("status %d for %v", st, err)
			}
			return
		}
		checkSpans(t, head, r.MethodName, r.Target, r.Path, r.Query, r.Host, r.HostName, r.Port)
		for _, h := range r.Headers {
			checkSpans(t, head, h.Name, h.Value, h.Line)
			if bytes.ContainsAny(h.Value.Of(head), "\r\n\x00") {
				t.Fatalf("control byte in accepted value %q", h.Value.Of(head))
			}
		}
		if r.Body == BodyLength && r.ContentLength <= 0 {
			t.Fatalf("length body with length %d", r.ContentLength)
		}
		if r.Body == BodyChunked {
			checkChunkedAgainstStdlib(t, in[end:])
		}
	})
}

func FuzzResponse(f *testing.F) {
	for _, s := range seedsFrom(f, "testdata/response.txt") {
		f.Add(s, false)
	}
	lim := Limits{MaxRequestLine: 256, MaxHeadBytes: 1024, MaxHeaders: 16}.WithDefaults()
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		var s HeadScanner
		start, end, err := s.Scan(in, &lim, true)
		if err != nil {
			if StatusOf(err) != 502 {
				t.Fatalf("response scan error %v has status %d", err, StatusOf(err))
			}
			return
		}
		if end == 0 {
			return
		}
		method := MethodGet
		if head {
			method = MethodHead
		}
		var r Response
		if err := r.Parse(in[start:end], method, &lim); err != nil {
			if StatusOf(err) != 502 {
				t.Fatalf("response error %v has status %d", err, StatusOf(err))
			}
			return
		}
		for _, h := range r.Headers {
			checkSpans(t, in[start:end], h.Name, h.Value, h.Line)
		}
		if r.Body == BodyToClose && r.KeepAlive {
			t.Fatal("close-delimited response marked reusable")
		}
		if method == MethodHead && r.Body != BodyNone {
			t.Fatal("HEAD response with a body")
		}
	})
}

func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), uint16(3))
	f.Add([]byte("3;a=b\r\nabc\r\n0\r\nT: v\r\n\r\nrest"), uint16(7))
	f.Add([]byte("A\r\n0123456789\r\n0\r\n\r\n"), uint16(0))
	f.Add([]byte("5\r\nhelloXX\r\n0\r\n\r\n"), uint16(1))
	f.Fuzz(func(t *testing.T, wire []byte, cut uint16) {
		whole, usedWhole, doneWhole, errWhole := frameAll(t, BodyChunked, 0, wire, nil)
		c := int(cut) % (len(wire) + 1)
		split, usedSplit, doneSplit, errSplit := frameAll(t, BodyChunked, 0, wire, []int{c})
		if (errWhole == nil) != (errSplit == nil) || doneWhole != doneSplit ||
			(errWhole == nil && (usedWhole != usedSplit || !bytes.Equal(whole, split))) {
			t.Fatalf("split at %d changes the result: %v/%v %v/%v", c, errWhole, errSplit, doneWhole, doneSplit)
		}
		checkChunkedAgainstStdlib(t, wire)
	})
}
