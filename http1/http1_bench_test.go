package http1

import (
	"bytes"
	"testing"
)

var (
	benchWrkRequest = []byte("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:9080\r\n\r\n")
	benchBrowser    = []byte("GET /api/v1/users/12345/profile?fields=name,email&expand=true HTTP/1.1\r\n" +
		"Host: api.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n" +
		"Accept: application/json, text/plain, */*\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc\r\n" +
		"Cookie: session=abcdef0123456789; theme=dark; lang=en\r\n" +
		"X-Request-Id: 7f2a1c9e-1b2c-4d5e-8f90-123456789abc\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\n" +
		"Connection: keep-alive\r\n" +
		"\r\n")
	benchResponse = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 19:00:00 GMT\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n")
)

func benchmarkRequest(b *testing.B, in []byte) {
	lim := Limits{}.WithDefaults()
	var r Request
	var s HeadScanner
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s.Reset()
		start, end, err := s.Scan(in, &lim, false)
		if err != nil || end == 0 {
			b.Fatal(err)
		}
		if err := r.Parse(in[start:end], &lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequestWrk(b *testing.B)     { benchmarkRequest(b, benchWrkRequest) }
func BenchmarkParseRequestBrowser(b *testing.B) { benchmarkRequest(b, benchBrowser) }

func BenchmarkParseResponse(b *testing.B) {
	lim := Limits{}.WithDefaults()
	var r Response
	var s HeadScanner
	b.SetBytes(int64(len(benchResponse)))
	b.ReportAllocs()
	for b.Loop() {
		s.Reset()
		start, end, err := s.Scan(benchResponse, &lim, true)
		if err != nil || end == 0 {
			b.Fatal(err)
		}
		if err := r.Parse(benchResponse[start:end], MethodGet, &lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedFraming(b *testing.B) {
	lim := Limits{}.WithDefaults()
	chunk := append(append([]byte("4000\r\n"), bytes.Repeat([]byte("x"), 0x4000)...), "\r\n"...)
	wire := append(bytes.Repeat(chunk, 4), "0\r\n\r\n"...)
	var body Body
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(BodyChunked, 0, &lim)
		rest := wire
		for len(rest) > 0 {
			n, _, err := body.Next(rest)
			if err != nil {
				b.Fatal(err)
			}
			rest = rest[n:]
		}
	}
}
