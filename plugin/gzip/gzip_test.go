package gzip

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// exchange is one request and the upstream's response head, as the engine
// hands them to header_filter.
func exchange(t testing.TB, loop *reqctx.Loop, req, resp string) *reqctx.Ctx {
	t.Helper()
	c := plugintest.NewCtxOn(t, loop, req)
	if resp != "" {
		c.Resp = &http1.Response{}
		c.RespHead = []byte(resp)
		if err := c.Resp.Parse(c.RespHead, c.Req.Method, &limits); err != nil {
			t.Fatalf("response: %v", err)
		}
		c.Status = c.Resp.Status
	}
	return c
}

var limits = http1.Limits{}.WithDefaults()

// respHeaders renders the response header edits, as the engine appends them.
func respHeaders(c *reqctx.Ctx) string { return string(c.AppendRespEdits(nil)) }

func gunzip(t testing.TB, b []byte) string {
	t.Helper()
	zr, err := kgzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v (%q)", err, b)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("corrupt gzip: %v", err)
	}
	return string(out)
}

const (
	echoReq = "POST /echo HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nContent-Length: 20\r\n\r\n"
	// the upstream's answer to t/plugin/gzip.t's request body (20 bytes)
	echoResp  = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 20\r\n\r\n"
	echoBody  = "0123456789\n012345678"
	req10     = "POST /echo HTTP/1.0\r\nHost: a\r\nAccept-Encoding: gzip\r\nContent-Length: 20\r\n\r\n"
	respOfTyp = "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: 20\r\n\r\n"
)

// The cases of t/plugin/gzip.t that exercise behaviour.
func TestDecidesAsAPISIX(t *testing.T) {
	for _, tc := range []struct {
		name, conf, req, resp string
		gzip                  bool
		vary                  bool
	}{
		{"TEST 2 hit", `{}`, echoReq, echoResp, true, false},
		{"TEST 7 min_length not reached", `{"min_length": 21}`, echoReq, echoResp, false, false},
		{"TEST 9 HTTP/1.0 below http_version", `{"http_version": 1.1}`, req10, echoResp, false, false},
		{"HTTP/1.0 allowed by http_version 1.0", `{"http_version": 1.0}`, req10, echoResp, true, false},
		{"TEST 10 hit again", `{"http_version": 1.1}`, echoReq, echoResp, true, false},
		{"TEST 12 type not listed", `{"types": ["text/plain", "text/xml"]}`, echoReq, echoResp, false, false},
		{"TEST 13 listed type", `{"types": ["text/plain", "text/xml"]}`, echoReq, strings.Replace(echoResp, "text/html", "text/xml", 1), true, false},
		{"TEST 14 with charset", `{"types": ["text/plain", "text/xml"]}`, echoReq, strings.Replace(echoResp, "text/html", "text/plain; charset=UTF-8", 1), true, false},
		{"TEST 16 any type", `{"types": "*"}`, echoReq, strings.Replace(echoResp, "text/html", "video/3gpp", 1), true, false},
		{"TEST 18 vary", `{"vary": true}`, echoReq, echoResp, true, true},
		{"types compare exactly", `{}`, echoReq, strings.Replace(echoResp, "text/html", "Text/HTML", 1), false, false},
		{"no content type", `{"types": "*"}`, echoReq, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", false, false},
		{"chunked: no length to check", `{"min_length": 1000}`, echoReq, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n", true, false},
		{"no Accept-Encoding, vary still added", `{"vary": true}`, strings.Replace(echoReq, "Accept-Encoding: gzip\r\n", "", 1), echoResp, false, true},
		{"gzip;q=0", `{}`, strings.Replace(echoReq, "gzip", "gzip;q=0", 1), echoResp, false, false},
		{"status 500", `{"vary": true}`, echoReq, strings.Replace(echoResp, "200 OK", "500 Internal Server Error", 1), false, true},
		{"status 404", `{}`, echoReq, strings.Replace(echoResp, "200 OK", "404 Not Found", 1), true, false},
		{"already encoded", `{}`, echoReq, strings.Replace(echoResp, "\r\n\r\n", "\r\nContent-Encoding: br\r\n\r\n", 1), false, false},
		{"HEAD", `{}`, strings.Replace(echoReq, "POST", "HEAD", 1), echoResp, false, false},
		{"Via: gzip_proxied off", `{}`, strings.Replace(echoReq, "\r\n\r\n", "\r\nVia: 1.1 proxy\r\n\r\n", 1), echoResp, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.Chain(t, "gzip", tc.conf)
			c := exchange(t, &reqctx.Loop{}, tc.req, tc.resp)
			ch.HeaderFilter(c, nil)
			hdr := respHeaders(c)
			if got := strings.Contains(hdr, "Content-Encoding: gzip\r\n"); got != tc.gzip || c.BodyRewrite != tc.gzip {
				t.Fatalf("compressed %v (BodyRewrite %v), want %v; edits %q", got, c.BodyRewrite, tc.gzip, hdr)
			}
			if got := strings.Contains(hdr, "Vary: Accept-Encoding\r\n"); got != tc.vary {
				t.Fatalf("vary %v, want %v; edits %q", got, tc.vary, hdr)
			}
			out := []byte(plugintest.Body(ch, c, echoBody))
			if tc.gzip {
				if got := gunzip(t, out); got != echoBody {
					t.Fatalf("decompressed %q", got)
				}
			} else if string(out) != echoBody {
				t.Fatalf("body changed: %q", out)
			}
			ch.Log(c, nil)
		})
	}
}

// wordy is a compressible text that is not one repeated pattern.
func wordy(n int) string {
	words := []string{"route", "upstream", "plugin", "consumer", "gateway", "latency", "status", "node"}
	var b strings.Builder
	x := uint32(1)
	for b.Len() < n {
		x = x*1664525 + 1013904223
		b.WriteString(words[x>>29])
		b.WriteByte(" ,.\n"[x>>5&3])
	}
	return b.String()[:n]
}

// TEST 5 (comp_level changes the output): level 9 compresses this text
// better than level 1.
func TestCompLevel(t *testing.T) {
	in := wordy(64 << 10)
	size := func(conf string) int {
		ch := plugintest.Chain(t, "gzip", conf)
		c := exchange(t, &reqctx.Loop{}, echoReq, strings.Replace(echoResp, "Length: 20", "Length: 65536", 1))
		ch.HeaderFilter(c, nil)
		out := []byte(plugintest.Body(ch, c, in))
		if gunzip(t, out) != in {
			t.Fatal("round trip")
		}
		return len(out)
	}
	l1, l9 := size(`{"comp_level": 1}`), size(`{"comp_level": 9}`)
	if l1 >= len(in)/3 || l9 >= l1 {
		t.Fatalf("level 1: %d bytes, level 9: %d", l1, l9)
	}
}

func TestAcceptEncoding(t *testing.T) {
	for ae, want := range map[string]bool{
		"gzip": true, "GZIP": true, "deflate, gzip": true, "gzip, deflate, br": true, "br,gzip": true,
		"gzip;q=1": true, "gzip; q=0.5": true, "gzip;q=0.001": true, "gzip ;q=1": true,
		"gzip;q=0": false, "gzip;q=0.0": false, "gzip;q=0.000": false, "gzip;q=0.0000": false,
		"x-gzip": false, "gzipx": false, "identity": false, "": false, "gzip;level=1": false,
		"x-gzip, gzip": true, "*": false,
	} {
		if got := AcceptsGzip([]byte(ae)); got != want {
			t.Errorf("%q: %v, want %v", ae, got, want)
		}
	}
}

func TestETagIsWeakened(t *testing.T) {
	for etag, want := range map[string]string{
		`"abc"`:   "ETag: W/\"abc\"\r\n",
		`W/"abc"`: "", // already weak: kept as it was
		`abc`:     "",
	} {
		ch := plugintest.Chain(t, "gzip", `{}`)
		c := exchange(t, &reqctx.Loop{}, echoReq, strings.Replace(echoResp, "\r\n\r\n", "\r\nETag: "+etag+"\r\nAccept-Ranges: bytes\r\n\r\n", 1))
		ch.HeaderFilter(c, nil)
		hdr := respHeaders(c)
		if want != "" && !strings.Contains(hdr, want) {
			t.Errorf("%s: edits %q, want %q", etag, hdr, want)
		}
		if !c.RespEdited([]byte("Accept-Ranges")) {
			t.Errorf("%s: Accept-Ranges kept", etag)
		}
		_, kept := c.RespHeader("ETag")
		if etag == "abc" && kept {
			t.Errorf("an ETag that is neither strong nor weak must go")
		}
		if etag == `W/"abc"` && c.RespEdited([]byte("ETag")) {
			t.Errorf("a weak ETag must stay")
		}
	}
}

func TestCheckSpeaksAPISIX(t *testing.T) {
	r := plugintest.Registry(t, "gzip")
	for conf, want := range map[string]string{
		`{"types": []}`:                 `property "types" validation failed: object matches none of the required`,
		`{"min_length": 0}`:             `property "min_length" validation failed: expected 0 to be at least 1`,
		`{"comp_level": 10}`:            `property "comp_level" validation failed: expected 10 to be at most 9`,
		`{"http_version": 2}`:           `property "http_version" validation failed: matches none of the enum values`,
		`{"buffers": {"number": 0}}`:    `property "buffers" validation failed: property "number" validation failed: expected 0 to be at least 1`,
		`{"buffers": {"size": 0}}`:      `property "buffers" validation failed: property "size" validation failed: expected 0 to be at least 1`,
		`{"vary": 0}`:                   `property "vary" validation failed: wrong type: expected boolean, got number`,
		`{"buffers": {"number": 1}}`:    "",
		`{"types": "*", "vary": false}`: "",
	} {
		_, err := plugintest.CheckAs(r, config.GlobalRules, "gzip", conf)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", conf, err)
			}
			continue
		}
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", conf, err, want)
		}
	}
	// TEST 3: defaults.
	v, err := plugintest.CheckAs(r, config.Routes, "gzip", `{"buffers": {"size": 1}}`)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(v["buffers"]); string(b) != `{"number":32,"size":1}` {
		t.Fatalf("buffers defaults %s", b)
	}
}

// A body in many pieces, as a chunked upstream sends it, compresses to one
// gzip stream, and the loop's stateful writers are reused, not rebuilt.
func TestStreamsAndReusesWriters(t *testing.T) {
	ch := plugintest.Chain(t, "gzip", `{"types": "*"}`)
	loop := &reqctx.Loop{}
	chunked := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	var first *kgzip.Writer
	for i := range 3 {
		c := exchange(t, loop, echoReq, chunked)
		ch.HeaderFilter(c, nil)
		pieces := []string{"hell", "o w", strings.Repeat("orld ", 5000), ""}
		if got := gunzip(t, []byte(plugintest.Body(ch, c, pieces...))); got != strings.Join(pieces, "") {
			t.Fatalf("round trip: %d bytes", len(got))
		}
		ch.Log(c, nil)
		pl := loop.Local(poolKey).(*loopPool)
		if i == 0 {
			first = pl.slots[0].zw
		} else if pl.slots[0].zw != first || pl.slots[1] != nil {
			t.Fatalf("writer not reused: %+v", pl.slots)
		}
	}
}

// More concurrent streams than stateful slots: the rest go stateless, and
// every stream still decompresses to its own body.
func TestConcurrentStreamsBeyondTheBound(t *testing.T) {
	ch := plugintest.Chain(t, "gzip", `{"types": "*", "comp_level": 5}`)
	loop := &reqctx.Loop{}
	n := MaxStatefulPerLoop + 3
	ctxs := make([]*reqctx.Ctx, n)
	outs := make([][]byte, n)
	for i := range ctxs {
		ctxs[i] = exchange(t, loop, echoReq, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
		ch.HeaderFilter(ctxs[i], nil)
	}
	for round := range 3 {
		for i, c := range ctxs {
			piece := strings.Repeat(string(rune('a'+i)), 1000*(round+1))
			outs[i] = append(outs[i], ch.BodyFilter(c, []byte(piece), false, nil)...)
		}
	}
	stateless := 0
	for i, c := range ctxs {
		if s := c.Local(streamKey).(*stream); s.level == kgzip.StatelessCompression {
			stateless++
		}
		outs[i] = append(outs[i], ch.BodyFilter(c, nil, true, nil)...)
		want := strings.Repeat(string(rune('a'+i)), 6000)
		if got := gunzip(t, outs[i]); got != want {
			t.Fatalf("stream %d: %d bytes", i, len(got))
		}
	}
	if stateless != 3 {
		t.Fatalf("%d stateless streams, want 3", stateless)
	}
	pl := loop.Local(poolKey).(*loopPool)
	if len(pl.free) != 3 {
		t.Fatalf("stateless writers not kept: %d", len(pl.free))
	}
}

// A response that ends early gives its writer back in the log phase; one
// whose request forgot it is reclaimed when its slot is needed.
func TestAbandonedStreamsAreReclaimed(t *testing.T) {
	ch := plugintest.Chain(t, "gzip", `{"types": "*"}`)
	loop := &reqctx.Loop{}
	start := func() *reqctx.Ctx {
		c := exchange(t, loop, echoReq, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
		ch.HeaderFilter(c, nil)
		ch.BodyFilter(c, []byte("partial"), false, nil)
		return c
	}
	c := start()
	ch.Log(c, nil) // the client went away
	pl := loop.Local(poolKey).(*loopPool)
	if pl.slots[0].busy() {
		t.Fatal("log did not release the writer")
	}
	for range MaxStatefulPerLoop {
		c := start()
		c.Reset() // its log phase never ran the plugin
	}
	c = start()
	if s := c.Local(streamKey).(*stream); s.level == kgzip.StatelessCompression {
		t.Fatal("abandoned slots were not reclaimed")
	}
}

// A gateway answer (no upstream head): compressed when it qualifies, and
// not when a later header filter took Content-Encoding back.
func TestGatewayAnswers(t *testing.T) {
	ch := plugintest.Chain(t, "gzip", `{"types": ["text/plain"]}`)
	c := exchange(t, &reqctx.Loop{}, echoReq, "")
	c.Status = 404
	c.SetRespHeader("Content-Type", []byte("text/plain; charset=utf-8"))
	ch.HeaderFilter(c, nil)
	msg := "{\"error_msg\":\"404 Route Not Found\"}\n"
	if !c.BodyRewrite || gunzip(t, []byte(plugintest.Body(ch, c, msg))) != msg {
		t.Fatal("404 not compressed")
	}

	c = exchange(t, &reqctx.Loop{}, echoReq, "")
	c.Status = 200
	c.SetRespHeader("Content-Type", []byte("text/plain"))
	ch.HeaderFilter(c, nil)
	c.DelRespHeader("Content-Encoding") // response-rewrite's new body
	if out := plugintest.Body(ch, c, msg); out != msg {
		t.Fatalf("compressed after Content-Encoding was removed: %q", out)
	}
}

// A global rule's gzip and the route's both match: the body is compressed
// once.
func TestTwoConfsCompressOnce(t *testing.T) {
	global, route := plugintest.Chain(t, "gzip", `{}`), plugintest.Chain(t, "gzip", `{}`)
	c := exchange(t, &reqctx.Loop{}, echoReq, echoResp)
	global.HeaderFilter(c, route)
	route.HeaderFilter(c, nil)
	var out []byte
	for _, piece := range []struct {
		data string
		eof  bool
	}{{echoBody, false}, {"", true}} {
		d := global.BodyFilter(c, []byte(piece.data), piece.eof, route)
		out = append(out, route.BodyFilter(c, d, piece.eof, nil)...)
	}
	if got := gunzip(t, out); got != echoBody {
		t.Fatalf("%q", got)
	}
}
