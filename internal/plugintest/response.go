package plugintest

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

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
	forEachEdit(c.AppendRespEdits(nil), func(name, value string) {
		k := strings.ToLower(name)
		fields[k] = append(fields[k], value)
	})
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
