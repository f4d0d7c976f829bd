package limitconn

import "testing"

// BenchmarkLocalAccessLog is one request counted in and out.
func BenchmarkLocalAccessLog(b *testing.B) {
	raw, err := checked(`{"conn": 100, "burst": 0, "default_conn_delay": 0.1, "key": "remote_addr"}`)
	if err != nil {
		b.Fatal(err)
	}
	l, err := compile(nil, raw, NewCounters(0))
	if err != nil {
		b.Fatal(err)
	}
	r := newRequest(b, "", "127.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		r.c.Reset()
		l.Access(&r.c)
		l.Log(&r.c)
	}
}
