package prometheus

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// BenchmarkLog is the plugin's per-request cost: header_filter and log of
// a proxied request, on a warm loop, with one label set or with requests
// spread over many routes and consumers.
func BenchmarkLog(b *testing.B) {
	for _, routes := range []int{1, 1000} {
		b.Run(strconv.Itoa(routes)+"routes", func(b *testing.B) {
			ch := plugintest.Chain(b, Name, `{}`)
			c := newCtx(b, &reqctx.Loop{})
			reqs := make([]request, routes)
			for i := range reqs {
				reqs[i] = request{route: "bench-" + strconv.Itoa(i), service: "s", consumer: "c" + strconv.Itoa(i%10),
					status: 200, upstream: true, node: "127.0.0.1", attempt: 2 * time.Millisecond, in: 80, out: 300}
				prepare(b, &reqs[i])
				serveReady(ch, c, &reqs[i])
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				serveReady(ch, c, &reqs[i%routes])
				i++
			}
		})
	}
}

// BenchmarkScrape is one scrape's cost (collect and encode, as the
// exporter serves it) with 1000 label sets on each of two loops.
func BenchmarkScrape(b *testing.B) {
	ch := plugintest.Chain(b, Name, `{}`)
	for l := range 2 {
		c := newCtx(b, &reqctx.Loop{ID: l})
		for i := range 1000 {
			serve(b, ch, c, request{route: "scrape-" + strconv.Itoa(i), status: 200, upstream: true, node: "127.0.0.1", attempt: time.Millisecond})
		}
	}
	h, err := Handler(NewCollector(Options{}), nil)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/apisix/prometheus/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
