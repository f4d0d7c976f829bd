package gzip

import (
	"strconv"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// BenchmarkCompress is one whole response through header_filter and the
// body filter (a body of the given size in one piece, then eof), on a warm
// loop: the stateful writer at the conf's level, or a stateless one when
// every slot is busy.
func BenchmarkCompress(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		for _, mode := range []string{"level1", "level5", "stateless"} {
			b.Run(mode+"/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
				conf := `{"types": "*"}`
				if mode == "level5" {
					conf = `{"types": "*", "comp_level": 5}`
				}
				ch := plugintest.Chain(b, "gzip", conf)
				loop := &reqctx.Loop{}
				if mode == "stateless" {
					// Keep every stateful slot busy.
					for range MaxStatefulPerLoop {
						c := exchange(b, loop, echoReq, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
						ch.HeaderFilter(c, nil)
						ch.BodyFilter(c, []byte("x"), false, nil)
					}
				}
				in := []byte(wordy(size))
				c := exchange(b, loop, echoReq, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
				head, resp, respHead := c.Head, c.Resp, c.RespHead
				b.SetBytes(int64(size))
				b.ReportAllocs()
				out := 0
				for b.Loop() {
					c.Reset()
					c.Head, c.Resp, c.RespHead, c.Status = head, resp, respHead, 200
					ch.HeaderFilter(c, nil)
					out = len(ch.BodyFilter(c, in, true, nil))
					ch.Log(c, nil)
				}
				b.ReportMetric(float64(size)/float64(out), "ratio")
			})
		}
	}
}
