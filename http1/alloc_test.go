//go:build !race

package http1

import "testing"

// Parsing a request or response head and framing a body allocate nothing
// once the Request/Response header storage exists (STYLE rule 15).
func TestParseAllocatesNothing(t *testing.T) {
	lim := Limits{}.WithDefaults()
	var (
		req  Request
		resp Response
		s    HeadScanner
		body Body
	)
	chunked := []byte("5\r\nhello\r\n0\r\nT: v\r\n\r\n")
	allocs := testing.AllocsPerRun(100, func() {
		s.Reset()
		start, end, _ := s.Scan(benchBrowser, &lim, false)
		if err := req.Parse(benchBrowser[start:end], &lim); err != nil {
			t.Fatal(err)
		}
		s.Reset()
		start, end, _ = s.Scan(benchResponse, &lim, true)
		if err := resp.Parse(benchResponse[start:end], MethodGet, &lim); err != nil {
			t.Fatal(err)
		}
		body.Reset(BodyChunked, 0, &lim)
		for rest := chunked; len(rest) > 0; {
			n, _, err := body.Next(rest)
			if err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		// A rejected request allocates nothing either.
		bad := []byte("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
		if err := req.Parse(bad, &lim); err != ErrDuplicateHost {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per parse, want 0", allocs)
	}
}
