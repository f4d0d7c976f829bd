package limitcount

import (
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/jsonschema"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// clock is a test clock for a Store.
type clock struct {
	mu  sync.Mutex
	now time.Duration
}

func (c *clock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
}

// request is a reusable request context on one loop.
type request struct {
	c    reqctx.Ctx
	loop reqctx.Loop
}

// newRequest parses raw (a request head, "\r\n" line ends) from remote.
func newRequest(t testing.TB, raw, remote string) *request {
	t.Helper()
	r := &request{}
	r.c.Loop = &r.loop
	r.set(t, raw, remote)
	return r
}

// set resets the context for the next request.
func (r *request) set(t testing.TB, raw, remote string) {
	t.Helper()
	c := &r.c
	c.Reset()
	c.Head = append(c.Head[:0], raw...)
	lim := http1.Limits{}.WithDefaults()
	if err := c.Req.Parse(c.Head, &lim); err != nil {
		t.Fatal(err)
	}
	c.RemoteAddr = netip.MustParseAddr(remote)
	c.RemoteText = append(c.RemoteText[:0], remote...)
	c.Begin(c.Req.Path.Of(c.Head), c.Req.HostName.Of(c.Head), time.Now())
}

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + strings.Join(headers, "") + "\r\n"
}

// withDefaults validates conf against the plugin's schema (filling in its
// defaults) and runs its checks, as the Admin API does.
func withDefaults(t testing.TB, conf string) []byte {
	t.Helper()
	b, err := checked(conf)
	if err != nil {
		t.Fatalf("conf %s: %v", conf, err)
	}
	return b
}

var testRegistry = sync.OnceValues(func() (*plugin.Registry, error) {
	return plugin.NewRegistry([]string{Name}, nil)
})

func checked(conf string) ([]byte, error) {
	r, err := testRegistry()
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.DecodeJSON([]byte(conf))
	if err != nil {
		return nil, err
	}
	if err := r.CheckPlugin(nil, Name, v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// instance compiles conf (checked, defaults filled) for owner on store.
func instance(t testing.TB, owner, conf string, store *Store) *limitCount {
	t.Helper()
	p, err := compile(&plugin.Env{Owner: owner}, withDefaults(t, conf), store)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// access runs the plugin on r and returns the status (0: went on) and body.
func access(p *limitCount, r *request) (int, string) {
	if res := p.Access(&r.c); res == reqctx.Continue {
		return 0, ""
	}
	_, body, has, _ := r.c.Exited()
	if !has {
		return r.c.Status, "<error page>"
	}
	return r.c.Status, string(body)
}

func header(r *request, name string) string {
	v, ok := r.c.RespHeader(name)
	if !ok {
		return "<none>"
	}
	return string(v)
}
