package plugintest

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

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
	forEachUpstreamField(c, func(name, value string) {
		k := strings.ToLower(name)
		fields[k] = append(fields[k], value)
	})
	if h, ok := c.UpstreamHostOverride(); ok {
		fields["host"] = []string{string(h)}
	}
	writeSorted(&b, fields)
	return b.String()
}

// UpstreamInOrder renders the upstream request as the auth plugins' tests
// compare it, where order shows what the plugin added: the normalised
// path and query, then one "Name: value" line per field in the order the
// engine writes them (the client's fields the plugins left alone, then the
// ones they set), names as written.
func UpstreamInOrder(c *reqctx.Ctx) string {
	var b strings.Builder
	b.Write(c.URI())
	if args := c.Args(); len(args) > 0 {
		b.WriteByte('?')
		b.Write(args)
	}
	b.WriteByte('\n')
	forEachUpstreamField(c, func(name, value string) {
		b.WriteString(name + ": " + value + "\n")
	})
	return b.String()
}

// forEachUpstreamField calls f for each request header field the upstream
// would receive: the client's the plugins left alone, then the edits.
func forEachUpstreamField(c *reqctx.Ctx, f func(name, value string)) {
	for i := range c.Req.Headers {
		h := &c.Req.Headers[i]
		name := h.Name.Of(c.Head)
		if c.ReqEdited(name) {
			continue
		}
		f(string(name), string(h.Value.Of(c.Head)))
	}
	forEachEdit(c.AppendReqEdits(nil), f)
}

// forEachEdit calls f for each "Name: value" line of edits as the context
// appends them.
func forEachEdit(edits []byte, f func(name, value string)) {
	for _, l := range strings.Split(string(edits), "\r\n") {
		if name, v, ok := strings.Cut(l, ": "); ok {
			f(name, v)
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

// Exit describes how the request ended, for comparison: the status, the
// named response header and the body; "" when it was not ended.
func Exit(c *reqctx.Ctx, header string) string {
	exited, body, _, _ := c.Exited()
	if !exited {
		return ""
	}
	v, _ := c.RespHeader(header)
	return strings.Join([]string{strconv.Itoa(c.Status), string(v), string(body)}, " | ")
}

// ExpectAuthOutcome runs c's request through ch (Request) as the auth
// plugins' table tests do, and fails t unless it either ended (Stop) with
// exit, as Exit renders it with the WWW-Authenticate challenge, or, when
// exit is "", went on (Continue) with upstream receiving upstream, as
// UpstreamInOrder renders it.
func ExpectAuthOutcome(t testing.TB, ch *plugin.Chain, c *reqctx.Ctx, exit, upstream string) {
	t.Helper()
	res := Request(ch, c)
	if got := Exit(c, "WWW-Authenticate"); got != exit {
		t.Fatalf("exit %q, want %q", got, exit)
	}
	if exit != "" {
		if res != reqctx.Stop {
			t.Fatalf("result %v, want stop", res)
		}
		return
	}
	if got := UpstreamInOrder(c); res != reqctx.Continue || got != upstream {
		t.Fatalf("%v, upstream got\n%s\nwant\n%s", res, got, upstream)
	}
}
