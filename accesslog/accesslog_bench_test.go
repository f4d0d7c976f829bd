package accesslog

import (
	"io"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// BenchmarkLog is one line in APISIX's default format, from a loop to the
// writer (which writes to io.Discard).
func BenchmarkLog(b *testing.B) {
	for _, tc := range []struct {
		name   string
		format string
		esc    Escape
	}{
		{"apisix", DefaultFormat, EscapeDefault},
		{"combined", CombinedFormat, EscapeDefault},
		{"json", `{"remote_addr":"$remote_addr","time":"$time_iso8601","request":"$request","status":$status,"bytes":$body_bytes_sent,"ua":"$http_user_agent","upstream":"$upstream_addr"}`, EscapeJSON},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := New(Options{Out: io.Discard, Format: tc.format, Escape: tc.esc, FlushInterval: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			c := proxied(b, &reqctx.Loop{})
			b.ReportAllocs()
			for b.Loop() {
				l.Log(c)
			}
			b.ReportMetric(float64(l.Dropped()), "dropped")
		})
	}
}

// BenchmarkFormat is the formatting alone (no ring, no writer).
func BenchmarkFormat(b *testing.B) {
	f, err := Compile(DefaultFormat, EscapeDefault)
	if err != nil {
		b.Fatal(err)
	}
	c := proxied(b, &reqctx.Loop{})
	st := newLineState([32]byte{})
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = f.Append(line[:0], c, st)
	}
	b.SetBytes(int64(len(line)))
}
