package limitcount

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + strings.Join(headers, "") + "\r\n"
}

// withDefaults validates conf against the plugin's schema (filling in its
// defaults) and runs its checks, as the Admin API does.
func withDefaults(t testing.TB, conf string) []byte {
	t.Helper()
	b, err := plugintest.Checked(Name, conf)
	if err != nil {
		t.Fatalf("conf %s: %v", conf, err)
	}
	return b
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

// access runs the plugin on c and returns the status (0: went on) and body.
func access(p *limitCount, c *reqctx.Ctx) (int, string) {
	if res := p.Access(c); res == reqctx.Continue {
		return 0, ""
	}
	_, body, has, _ := c.Exited()
	if !has {
		return c.Status, "<error page>"
	}
	return c.Status, string(body)
}

func header(c *reqctx.Ctx, name string) string {
	v, ok := c.RespHeader(name)
	if !ok {
		return "<none>"
	}
	return string(v)
}
