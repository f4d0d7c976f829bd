package plugintest

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
)

var limits = http1.Limits{}.WithDefaults()

// NewCtx builds a request context on a loop of its own for the raw head
// ("GET /x HTTP/1.1\r\nHost: a"): lines end in "\r\n", or all in "\n"
// (made "\r\n"), and the empty line that ends the head is added when
// missing. The client is 127.0.0.1:52000 (SetRemote changes it), the
// gateway's port 9080.
func NewCtx(t testing.TB, raw string) *reqctx.Ctx {
	t.Helper()
	return NewCtxOn(t, &reqctx.Loop{}, raw)
}

// NewCtxOn is NewCtx on loop, for tests of what requests of one loop share
// (a plugin's per-loop state).
func NewCtxOn(t testing.TB, loop *reqctx.Loop, raw string) *reqctx.Ctx {
	t.Helper()
	c := &reqctx.Ctx{Loop: loop}
	SetRemote(c, "127.0.0.1")
	c.RemotePort = 52000
	c.LocalPort = []byte("9080")
	Reset(t, c, raw)
	return c
}

// NewCtxWith is NewCtx for a request served with cfg: the snapshot's
// consumers, credentials and plugin metadata (an Index).
func NewCtxWith(t testing.TB, raw string, cfg reqctx.Config) *reqctx.Ctx {
	t.Helper()
	c := NewCtx(t, raw)
	c.Config = cfg
	return c
}

// SetRemote makes addr the address of c's client (the connection's, as
// real-ip finds it before it changes it). It allocates nothing once c has
// held an address as long.
func SetRemote(c *reqctx.Ctx, addr string) {
	c.RemoteAddr = netip.MustParseAddr(addr)
	c.RemoteText = append(c.RemoteText[:0], addr...)
}

// Reset readies c for another request on its connection, keeping its
// buffers, its client and its Config (as the engine does between requests
// of a connection). With raw already in "\r\n" form and ending in the
// empty line, and a path that needs no normalising, it allocates nothing.
func Reset(t testing.TB, c *reqctx.Ctx, raw string) {
	t.Helper()
	if !strings.Contains(raw, "\r\n") {
		raw = strings.ReplaceAll(raw, "\n", "\r\n")
	}
	if !strings.HasSuffix(raw, "\r\n\r\n") {
		raw = strings.TrimRight(raw, "\r\n") + "\r\n\r\n"
	}
	cfg := c.Config
	c.Reset()
	c.Config = cfg
	c.Head = append(c.Head[:0], raw...)
	c.Req.Reset()
	if err := c.Req.Parse(c.Head, &limits); err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	path := c.Req.Path.Of(c.Head)
	if len(path) == 0 {
		path = []byte("/")
	}
	if http1.PathNeedsNormalizing(path) {
		p, err := http1.NormalizePath(nil, path)
		if err != nil {
			t.Fatalf("path %q: %v", path, err)
		}
		path = p
	}
	var host [64]byte
	c.Begin(path, appendLower(host[:0], c.Req.HostName.Of(c.Head)), time.Now())
}

// appendLower appends b lower-cased (ASCII) to dst.
func appendLower(dst, b []byte) []byte {
	for _, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst
}

// Replay returns a function that readies c for the same request again as
// the engine does between requests (truncating, never reallocating), with
// the same Config, for allocation tests and benchmarks: after the first
// call it allocates nothing.
func Replay(t testing.TB, c *reqctx.Ctx) func() {
	t.Helper()
	head := slices.Clone(c.Head)
	path := slices.Clone(c.URI())
	host := slices.Clone(c.Host())
	cfg := c.Config
	now := time.Now()
	return func() {
		c.Reset()
		c.Config = cfg
		c.Head = append(c.Head[:0], head...)
		c.Req.Reset()
		if err := c.Req.Parse(c.Head, &limits); err != nil {
			t.Fatal(err)
		}
		c.Begin(path, host, now)
	}
}
