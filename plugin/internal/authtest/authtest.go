package authtest

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Registry enables the named plugins.
func Registry(t testing.TB, names ...string) *plugin.Registry {
	t.Helper()
	r, err := plugin.NewRegistry(names, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Consumer decodes a consumer written as APISIX's JSON.
func Consumer(t testing.TB, js string) *config.Consumer {
	t.Helper()
	var c config.Consumer
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("consumer %s: %v", js, err)
	}
	return &c
}

// Credential decodes a credential of consumer written as APISIX's JSON.
func Credential(t testing.TB, consumer, js string) *config.Credential {
	t.Helper()
	var c config.Credential
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("credential %s: %v", js, err)
	}
	c.Consumer = consumer
	return &c
}

// Index builds a snapshot's consumers and credentials; problems (bad
// confs, duplicate keys) are returned for the test to check.
func Index(t testing.TB, r *plugin.Registry, consumers []*config.Consumer, creds []*config.Credential) (*plugin.Index, []error) {
	t.Helper()
	return r.BuildIndex(plugin.IndexInput{Consumers: consumers, Credentials: creds, Groups: map[string]*config.PluginSet{}})
}

// Chain compiles a route's plugins, written as APISIX's JSON object.
func Chain(t testing.TB, r *plugin.Registry, plugins string) *plugin.Chain {
	t.Helper()
	var confs map[string]json.RawMessage
	if err := json.Unmarshal([]byte(plugins), &confs); err != nil {
		t.Fatalf("plugins %s: %v", plugins, err)
	}
	ch, err := r.Compile(&plugin.Env{Owner: "/apisix/routes/1"}, confs)
	if err != nil {
		t.Fatalf("compiling %s: %v", plugins, err)
	}
	return ch
}

// Ctx parses a request written with "\n" line ends (converted to CRLF;
// the empty line at the end is added) into a context on a fresh loop.
func Ctx(t testing.TB, req string, cfg reqctx.Config) *reqctx.Ctx {
	t.Helper()
	c := &reqctx.Ctx{Loop: &reqctx.Loop{}}
	Reset(t, c, req, cfg)
	return c
}

var limits = http1.Limits{}.WithDefaults()

// Reset reuses c (and its loop) for another request, as a connection does.
func Reset(t testing.TB, c *reqctx.Ctx, req string, cfg reqctx.Config) {
	t.Helper()
	c.Reset()
	req = strings.TrimRight(req, "\n")
	c.Head = append(c.Head[:0], strings.ReplaceAll(req, "\n", "\r\n")+"\r\n\r\n"...)
	if err := c.Req.Parse(c.Head, &limits); err != nil {
		t.Fatalf("parsing %q: %v", req, err)
	}
	path := c.Req.Path.Of(c.Head)
	if len(path) == 0 {
		path = []byte("/")
	}
	c.Begin(path, c.Req.HostName.Of(c.Head), time.Now())
	c.Config = cfg
}

// Run runs the chain's rewrite phase, the rewrite hooks of what the
// consumer's plugins added, and the access phase, as the engine does before
// proxying.
func Run(ch *plugin.Chain, c *reqctx.Ctx) reqctx.Result {
	res, _ := ch.Run(plugin.Rewrite, c, 0, nil)
	if res != reqctx.Continue {
		return res
	}
	if c.Consumer != nil {
		merged := plugin.MergeConsumer(c.Loop, ch, c.Consumer)
		if res, _ = merged.RunConsumerRewrite(c, 0); res != reqctx.Continue {
			return res
		}
		ch = merged
	}
	res, _ = ch.Run(plugin.Access, c, 0, nil)
	return res
}

// Upstream returns the request line's target and the header fields the
// upstream would receive, one "name: value" line each (the client's fields
// the plugins left alone, then the ones they set), as the engine writes
// them.
func Upstream(c *reqctx.Ctx) string {
	var b strings.Builder
	b.Write(c.URI())
	if args := c.Args(); len(args) > 0 {
		b.WriteByte('?')
		b.Write(args)
	}
	b.WriteByte('\n')
	for _, h := range c.Req.Headers {
		name := h.Name.Of(c.Head)
		if c.ReqEdited(name) {
			continue
		}
		b.Write(name)
		b.WriteString(": ")
		b.Write(h.Value.Of(c.Head))
		b.WriteByte('\n')
	}
	b.WriteString(strings.ReplaceAll(string(c.AppendReqEdits(nil)), "\r\n", "\n"))
	return b.String()
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

// Replayer runs one request again and again on one Ctx, as a connection
// reuses its context, allocating nothing itself: what an allocation test
// or a benchmark counts is the plugins'.
type Replayer struct {
	C    *reqctx.Ctx
	head []byte
	cfg  reqctx.Config
}

// NewReplayer parses req (as Ctx does) for replaying.
func NewReplayer(t testing.TB, req string, cfg reqctx.Config) *Replayer {
	c := Ctx(t, req, cfg)
	return &Replayer{C: c, head: append([]byte(nil), c.Head...), cfg: cfg}
}

// Rewrite resets the context to the request and runs ch's rewrite phase.
// It reports Parked if the request no longer parses (it parsed once).
func (r *Replayer) Rewrite(ch *plugin.Chain) reqctx.Result {
	c := r.C
	c.Reset()
	c.Head = append(c.Head[:0], r.head...)
	if c.Req.Parse(c.Head, &limits) != nil {
		return reqctx.Parked
	}
	path := c.Req.Path.Of(c.Head)
	c.Begin(path, c.Req.HostName.Of(c.Head), time.Time{})
	c.Config = r.cfg
	res, _ := ch.Run(plugin.Rewrite, c, 0, nil)
	return res
}
