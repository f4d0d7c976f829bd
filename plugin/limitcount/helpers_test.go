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

// instance compiles conf (checked, defaults filled) for owner on store.
func instance(t testing.TB, owner, conf string, store *Store) *limitCount {
	t.Helper()
	return plugintest.Instance(t, Name, conf, func(stored []byte) (*limitCount, error) {
		return compile(&plugin.Env{Owner: owner}, stored, store)
	})
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
