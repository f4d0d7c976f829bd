package plugintest

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

var limits = http1.Limits{}.WithDefaults()

// NewCtx builds a request context for the raw head ("GET /x HTTP/1.1\r\n
// Host: a\r\n\r\n"; a missing final CRLF pair is added) from 127.0.0.1.
func NewCtx(t testing.TB, raw string) *reqctx.Ctx {
	t.Helper()
	c := &reqctx.Ctx{Loop: &reqctx.Loop{}}
	Reset(t, c, raw)
	return c
}

// Reset readies c for another request, keeping its buffers (as the engine
// does between requests of a connection).
func Reset(t testing.TB, c *reqctx.Ctx, raw string) {
	t.Helper()
	if !strings.HasSuffix(raw, "\r\n\r\n") {
		raw = strings.TrimRight(raw, "\r\n") + "\r\n\r\n"
	}
	c.Reset()
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
	c.RemoteAddr = netip.MustParseAddr("127.0.0.1")
	c.RemoteText = []byte("127.0.0.1")
	c.RemotePort = 52000
	c.LocalPort = []byte("9080")
	c.Begin(path, []byte(strings.ToLower(string(c.Req.HostName.Of(c.Head)))), time.Now())
}

// Chain compiles one plugin's conf (JSON) as a route would carry it: the
// registry's check (schema, defaults, the plugin's Check), then New.
func Chain(t testing.TB, name, conf string) *plugin.Chain {
	t.Helper()
	ch, err := Compile(name, conf)
	if err != nil {
		t.Fatalf("%s %s: %v", name, conf, err)
	}
	return ch
}

// Compile is Chain returning the error: the check's error as the Admin API
// words it after "failed to check the configuration of plugin X err: ".
func Compile(name, conf string) (*plugin.Chain, error) {
	r, err := plugin.NewRegistry([]string{name}, nil)
	if err != nil {
		return nil, err
	}
	var obj any
	if err := json.Unmarshal([]byte(conf), &obj); err != nil {
		return nil, err
	}
	if err := r.CheckPlugin(config.Routes, name, obj); err != nil {
		return nil, err
	}
	return r.Compile(&plugin.Env{Owner: "/apisix/routes/1"}, map[string]json.RawMessage{name: json.RawMessage(conf)})
}

// Check runs only the registry's check of a conf.
func Check(name, conf string) error {
	_, err := Compile(name, conf)
	return err
}

// Request runs the rewrite and access phases and returns their result.
func Request(ch *plugin.Chain, c *reqctx.Ctx) reqctx.Result {
	res, _ := ch.Run(plugin.Rewrite, c, 0, nil)
	if res == reqctx.Continue {
		res, _ = ch.Run(plugin.Access, c, 0, nil)
	}
	return res
}

// UpstreamHead renders what the engine would send upstream as far as
// plugins decide it: the request line, then the client's header fields
// with edits applied, lower-cased, sorted, one "name: value" each (fields
// of one name on one line, ", "-joined), and "host: ..." from
// SetUpstreamHost or the client's Host.
func UpstreamHead(c *reqctx.Ctx) string {
	var b strings.Builder
	b.Write(c.Method())
	b.WriteByte(' ')
	if c.URIRewritten() || c.ArgsRewritten() {
		b.Write(c.URI())
		if a := c.Args(); len(a) > 0 {
			b.WriteByte('?')
			b.Write(a)
		}
	} else {
		b.Write(c.Req.Target.Of(c.Head))
	}
	b.WriteByte('\n')
	fields := map[string][]string{}
	for i := range c.Req.Headers {
		h := &c.Req.Headers[i]
		name := h.Name.Of(c.Head)
		if c.ReqEdited(name) {
			continue
		}
		k := strings.ToLower(string(name))
		fields[k] = append(fields[k], string(h.Value.Of(c.Head)))
	}
	parseLines(string(c.AppendReqEdits(nil)), fields)
	if h, ok := c.UpstreamHostOverride(); ok {
		fields["host"] = []string{string(h)}
	}
	writeSorted(&b, fields)
	return b.String()
}

func parseLines(lines string, fields map[string][]string) {
	for _, l := range strings.Split(lines, "\r\n") {
		if name, v, ok := strings.Cut(l, ": "); ok {
			k := strings.ToLower(name)
			fields[k] = append(fields[k], v)
		}
	}
}

func writeSorted(b *strings.Builder, fields map[string][]string) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(k + ": " + strings.Join(fields[k], ", ") + "\n")
	}
}

// Response is an upstream (or gateway) response for the filter phases.
type Response struct {
	resp http1.Response
	head []byte
}

// Upstream parses a raw response head (final CRLF pair optional) as the
// upstream's answer to c's request.
func Upstream(t testing.TB, c *reqctx.Ctx, raw string) *Response {
	t.Helper()
	if !strings.HasSuffix(raw, "\r\n\r\n") {
		raw = strings.TrimRight(raw, "\r\n") + "\r\n\r\n"
	}
	r := &Response{head: []byte(raw)}
	if err := r.resp.Parse(r.head, c.Req.Method, &limits); err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	return r
}

// HeaderFilter runs header_filter over r (nil: a gateway answer with
// status), and returns the status and the response fields the client would
// get, rendered as UpstreamHead renders request fields.
func HeaderFilter(ch *plugin.Chain, c *reqctx.Ctx, r *Response, status int) (int, string) {
	if r != nil {
		c.Status = r.resp.Status
		c.Resp, c.RespHead = &r.resp, r.head
	} else {
		c.Status = status
	}
	ch.HeaderFilter(c, nil)
	fields := map[string][]string{}
	if r != nil {
		for i := range r.resp.Headers {
			h := &r.resp.Headers[i]
			name := h.Name.Of(r.head)
			if c.RespEdited(name) {
				continue
			}
			k := strings.ToLower(string(name))
			fields[k] = append(fields[k], string(h.Value.Of(r.head)))
		}
	}
	c.Resp, c.RespHead = nil, nil
	parseLines(string(c.AppendRespEdits(nil)), fields)
	var b strings.Builder
	writeSorted(&b, fields)
	return c.Status, b.String()
}

// Body passes body through the body filters in the given pieces (the last
// with eof) and returns what the client would get.
func Body(ch *plugin.Chain, c *reqctx.Ctx, pieces ...string) string {
	var out []byte
	for i, p := range pieces {
		got := ch.BodyFilter(c, []byte(p), i == len(pieces)-1, nil)
		out = append(out, got...)
	}
	if len(pieces) == 0 {
		out = append(out, ch.BodyFilter(c, nil, true, nil)...)
	}
	return string(out)
}

// Replay returns a function that readies c for the same request again as
// the engine does between requests (truncating, never reallocating), for
// allocation tests and benchmarks: after the first call it allocates
// nothing.
func Replay(t testing.TB, c *reqctx.Ctx) func() {
	t.Helper()
	head := slices.Clone(c.Head)
	path := slices.Clone(c.URI())
	host := slices.Clone(c.Host())
	now := time.Now()
	return func() {
		c.Reset()
		c.Head = append(c.Head[:0], head...)
		c.Req.Reset()
		if err := c.Req.Parse(c.Head, &limits); err != nil {
			t.Fatal(err)
		}
		c.Begin(path, host, now)
	}
}
