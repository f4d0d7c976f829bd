package limitreq

import "testing"

func BenchmarkLocalAccess(b *testing.B) {
	raw, err := checked(`{"rate": 1000000, "burst": 0, "key": "remote_addr", "nodelay": true}`)
	if err != nil {
		b.Fatal(err)
	}
	p, err := compile(nil, raw, NewBuckets(0, nil))
	if err != nil {
		b.Fatal(err)
	}
	var r request
	r.set(b, "", "127.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		r.c.Reset()
		p.Access(&r.c)
	}
}
