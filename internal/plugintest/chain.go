package plugintest

import (
	"encoding/json"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/jsonschema"
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
	if _, err := check(r, config.Routes, name, conf); err != nil {
		return nil, err
	}
	return r.Compile(&plugin.Env{Owner: "/apisix/routes/1"}, map[string]json.RawMessage{name: json.RawMessage(conf)})
}

// Check returns Compile's error alone: the check's, or the plugin's New's.
func Check(name, conf string) error {
	_, err := Compile(name, conf)
	return err
}

// Checked checks a conf as the Admin API does and returns it as stored,
// with the schema's defaults filled in: what a plugin's own compile
// function receives, for tests inside the plugin's package.
func Checked(name, conf string) ([]byte, error) {
	r, err := plugin.NewRegistry([]string{name}, nil)
	if err != nil {
		return nil, err
	}
	v, err := check(r, config.Routes, name, conf)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Instance is Checked, then compile (a plugin's own compile function, with
// the state the test injects) on the stored conf; it fails t on either
// error.
func Instance[P any](t testing.TB, name, conf string, compile func(stored []byte) (P, error)) P {
	t.Helper()
	stored, err := Checked(name, conf)
	if err != nil {
		t.Fatalf("conf %s: %v", conf, err)
	}
	p, err := compile(stored)
	if err != nil {
		t.Fatalf("compiling %s: %v", stored, err)
	}
	return p
}

// CheckAs checks conf on r as the Admin API does for an object of kind k
// (config.Consumers: an auth plugin's consumer schema; config.PluginMetadata:
// the metadata schema). It returns the conf as decoded, with the defaults
// the check filled in (nil when it is not an object), and the check's
// error.
func CheckAs(r *plugin.Registry, k *config.Kind, name, conf string) (map[string]any, error) {
	v, err := check(r, k, name, conf)
	obj, _ := v.(map[string]any)
	return obj, err
}

func check(r *plugin.Registry, k *config.Kind, name, conf string) (any, error) {
	v, err := jsonschema.DecodeJSON([]byte(conf))
	if err != nil {
		return nil, err
	}
	return v, r.CheckPlugin(k, name, v)
}

// RouteChain compiles a route's plugins, written as APISIX's JSON object,
// on r (no check: as they come from etcd).
func RouteChain(t testing.TB, r *plugin.Registry, plugins string) *plugin.Chain {
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

// Rewrite runs the rewrite phase alone (where auth plugins decide) and
// returns where it stopped.
func Rewrite(ch *plugin.Chain, c *reqctx.Ctx) reqctx.Result {
	res, _ := ch.Run(plugin.Rewrite, c, 0, nil)
	return res
}

// RewriteAllocs runs ch's rewrite phase on c's request, then on the
// request replayed (Replay) as allocation tests do. It returns the first
// run's result and the allocations per replayed run.
func RewriteAllocs(t testing.TB, ch *plugin.Chain, c *reqctx.Ctx) (reqctx.Result, float64) {
	t.Helper()
	replay := Replay(t, c)
	res := Rewrite(ch, c)
	return res, testing.AllocsPerRun(100, func() {
		replay()
		Rewrite(ch, c)
	})
}

// Request runs the phases before proxying as the engine does: rewrite;
// when an auth plugin attached a consumer, the rewrite hooks of what the
// consumer's plugins add; then access. It returns where they stopped.
func Request(ch *plugin.Chain, c *reqctx.Ctx) reqctx.Result {
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
