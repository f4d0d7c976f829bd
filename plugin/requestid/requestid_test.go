package requestid

import (
	"encoding/binary"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/plugin"
)

var formats = map[string]*regexp.Regexp{
	"uuid":     regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
	"uuidv7":   regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
	"nanoid":   regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`),
	"range_id": regexp.MustCompile(`^[a-zA-Z0-9]{16}$`),
	"ksuid":    regexp.MustCompile(`^[0-9A-Za-z]{27}$`),
}

// Each algorithm's ids have their format and do not repeat
// (request-id.t, request-id2.t, request-id3.t).
func TestAlgorithms(t *testing.T) {
	for alg, re := range formats {
		t.Run(alg, func(t *testing.T) {
			ch := plugintest.Chain(t, "request-id", `{"algorithm": "`+alg+`"}`)
			c := plugintest.NewCtx(t, "GET /opentracing HTTP/1.1\r\nHost: x")
			seen := map[string]bool{}
			for range 1000 {
				plugintest.Reset(t, c, "GET /opentracing HTTP/1.1\r\nHost: x")
				plugintest.Request(ch, c)
				id, ok := c.Header("X-Request-Id")
				if !ok || !re.Match(id) {
					t.Fatalf("id %q", id)
				}
				if seen[string(id)] {
					t.Fatalf("id %q repeated", id)
				}
				seen[string(id)] = true
			}
		})
	}
}

// request-id.t TEST 4-8: an existing id is kept and echoed; the answer
// gets the id unless the upstream sent one; include_in_response false.
func TestHeaderFlow(t *testing.T) {
	ch := plugintest.Chain(t, "request-id", `{}`)
	c := plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: 123")
	plugintest.Request(ch, c)
	if id, _ := c.Header("X-Request-Id"); string(id) != "123" {
		t.Fatalf("kept %q", id)
	}
	if _, f := plugintest.HeaderFilter(ch, c, plugintest.Upstream(t, c, "HTTP/1.1 200 OK\r\nContent-Length: 0"), 0); !strings.Contains(f, "x-request-id: 123\n") {
		t.Fatalf("echo: %s", f)
	}

	c = plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: ")
	plugintest.Request(ch, c)
	id, _ := c.Header("X-Request-Id")
	if !formats["uuid"].Match(id) {
		t.Fatalf("an empty header is replaced: %q", id)
	}
	if _, f := plugintest.HeaderFilter(ch, c, plugintest.Upstream(t, c, "HTTP/1.1 200 OK\r\nX-Request-Id: from-up\r\nContent-Length: 0"), 0); !strings.Contains(f, "x-request-id: from-up\n") || strings.Contains(f, string(id)) {
		t.Fatalf("upstream's kept: %s", f)
	}
	if _, f := plugintest.HeaderFilter(ch, c, nil, 404); !strings.Contains(f, "x-request-id: "+string(id)+"\n") {
		t.Fatalf("gateway answer: %s", f)
	}

	ch = plugintest.Chain(t, "request-id", `{"header_name": "Custom-Header-Name", "include_in_response": false}`)
	c = plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x")
	plugintest.Request(ch, c)
	if id, ok := c.Header("Custom-Header-Name"); !ok || !formats["uuid"].Match(id) {
		t.Fatalf("custom header %q", id)
	}
	if _, f := plugintest.HeaderFilter(ch, c, nil, 200); strings.Contains(f, "custom-header-name") {
		t.Fatalf("not in the answer: %s", f)
	}
}

func TestRangeIDCharSet(t *testing.T) {
	ch := plugintest.Chain(t, "request-id", `{"algorithm": "range_id", "range_id": {"char_set": "abcdef", "length": 9}}`)
	c := plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x")
	plugintest.Request(ch, c)
	if id, _ := c.Header("X-Request-Id"); !regexp.MustCompile(`^[a-f]{9}$`).Match(id) {
		t.Fatalf("%q", id)
	}
	if err := plugintest.Check("request-id", `{"algorithm": "range_id", "range_id": {"char_set": "abc"}}`); err == nil {
		t.Fatal("a char_set shorter than 6 accepted")
	}
	if err := plugintest.Check("request-id", `{"algorithm": "bad"}`); err == nil || !strings.Contains(err.Error(), "matches none of the enum values") {
		t.Fatalf("%v", err)
	}
}

// A KSUID decodes back to its timestamp.
func TestKSUIDLayout(t *testing.T) {
	g := newGenerator()
	now := time.Unix(1700000000, 0)
	id := g.ksuid(nil, now)
	n := new(big.Int)
	for _, ch := range id {
		n.Mul(n, big.NewInt(62))
		n.Add(n, big.NewInt(int64(strings.IndexByte(base62, ch))))
	}
	var raw [20]byte
	n.FillBytes(raw[:])
	if ts := binary.BigEndian.Uint32(raw[:4]); int64(ts) != 1700000000-ksuidEpoch {
		t.Fatalf("timestamp %d", ts)
	}
}

// uuidv7 ids from one loop increase within a millisecond.
func TestUUIDv7Monotonic(t *testing.T) {
	g := newGenerator()
	now := time.Now()
	prev := ""
	for range 100 {
		id := string(g.uuidv7(nil, now))
		if id <= prev {
			t.Fatalf("%s after %s", id, prev)
		}
		prev = id
	}
}

func BenchmarkRequestID(b *testing.B) {
	for _, alg := range []string{"uuid", "uuidv7", "nanoid", "range_id", "ksuid"} {
		b.Run(alg, func(b *testing.B) {
			ch := plugintest.Chain(b, "request-id", `{"algorithm": "`+alg+`"}`)
			c := plugintest.NewCtx(b, "GET / HTTP/1.1\r\nHost: x")
			replay := plugintest.Replay(b, c)
			b.ReportAllocs()
			for b.Loop() {
				replay()
				ch.Run(plugin.Rewrite, c, 0, nil)
				c.Status = 200
				ch.HeaderFilter(c, nil)
			}
		})
	}
}
