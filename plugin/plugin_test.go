package plugin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/jsonschema"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// Test plugins: "t-a" (priority 30), "t-b" (20), "t-auth" (an auth plugin
// keyed by "key"). Each records the phase hooks it runs into the request's
// trace, and t-b exits with its conf's status in access when set.
type traceInst struct {
	name string
	exit int
}

var traceKey = reqctx.NewLocalKey(func() any { return nil })

func trace(c *reqctx.Ctx) *[]string {
	if t, ok := c.Local(traceKey).(*[]string); ok {
		return t
	}
	t := new([]string)
	c.SetLocal(traceKey, t)
	return t
}

func (t *traceInst) Rewrite(c *reqctx.Ctx) reqctx.Result {
	*trace(c) = append(*trace(c), t.name+":rewrite")
	return reqctx.Continue
}

func (t *traceInst) Access(c *reqctx.Ctx) reqctx.Result {
	*trace(c) = append(*trace(c), t.name+":access")
	if t.exit != 0 {
		return c.Exit(t.exit, []byte("plugin body\n"))
	}
	return reqctx.Continue
}

type authInst struct{}

func (authInst) Rewrite(c *reqctx.Ctx) reqctx.Result {
	if cred := c.Config.Credential("t-auth", []byte("k1")); cred != nil {
		c.SetConsumer(cred)
	}
	return reqctx.Continue
}

func init() {
	for name, prio := range map[string]int{"t-a": 30, "t-b": 20} {
		Register(&Def{
			Name:     name,
			Priority: prio,
			Schema:   `{"type": "object", "properties": {"exit": {"type": "integer", "default": 0}, "n": {"type": "integer", "minimum": 1}}}`,
			New: func(_ *Env, conf []byte) (any, error) {
				var c struct{ Exit int }
				if err := Decode(conf, &c); err != nil {
					return nil, err
				}
				return &traceInst{name: name, exit: c.Exit}, nil
			},
		})
	}
	Register(&Def{
		Name:           "t-auth",
		Priority:       25,
		Auth:           true,
		Schema:         `{"type": "object"}`,
		ConsumerSchema: `{"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}`,
		New:            func(*Env, []byte) (any, error) { return authInst{}, nil },
		NewConsumer: func(conf []byte) (string, any, error) {
			var c struct{ Key string }
			err := Decode(conf, &c)
			return c.Key, nil, err
		},
	})
}

func registry(t *testing.T) *Registry {
	t.Helper()
	r, err := NewRegistry([]string{"t-a", "t-b", "t-auth", "no-such-plugin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func confs(kv ...string) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}

func run(ch *Chain, c *reqctx.Ctx) (reqctx.Result, string) {
	res, _ := ch.Run(Rewrite, c, 0, nil)
	if res == reqctx.Continue {
		res, _ = ch.Run(Access, c, 0, nil)
	}
	return res, strings.Join(*trace(c), " ")
}

func TestChainOrderAndMeta(t *testing.T) {
	r := registry(t)
	for _, tc := range []struct {
		name  string
		confs map[string]json.RawMessage
		want  string
	}{
		{"by priority", confs("t-b", `{}`, "t-a", `{}`), "t-a:rewrite t-b:rewrite t-a:access t-b:access"},
		{"_meta.priority reorders", confs("t-b", `{"_meta": {"priority": 40}}`, "t-a", `{}`), "t-b:rewrite t-a:rewrite t-b:access t-a:access"},
		{"_meta.disable leaves out", confs("t-b", `{"_meta": {"disable": true}}`, "t-a", `{}`), "t-a:rewrite t-a:access"},
		{"_meta.filter skips", confs("t-b", `{"_meta": {"filter": [["arg_x", "==", "1"]]}}`, "t-a", `{}`), "t-a:rewrite t-a:access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := r.Compile(&Env{}, tc.confs)
			if err != nil {
				t.Fatal(err)
			}
			var c reqctx.Ctx
			if _, got := run(ch, &c); got != tc.want {
				t.Fatalf("ran %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrorResponseReplacesAnErrorExit(t *testing.T) {
	r := registry(t)
	for _, tc := range []struct{ meta, want string }{
		{`"denied"`, "denied"},
		{`{"message": "denied"}`, "{\"message\":\"denied\"}\n"},
	} {
		ch, err := r.Compile(&Env{}, confs("t-b", `{"exit": 403, "_meta": {"error_response": `+tc.meta+`}}`))
		if err != nil {
			t.Fatal(err)
		}
		var c reqctx.Ctx
		res, _ := run(ch, &c)
		_, body, has, _ := c.Exited()
		if res != reqctx.Stop || c.Status != 403 || !has || string(body) != tc.want {
			t.Fatalf("%v %d %q, want 403 %q", res, c.Status, body, tc.want)
		}
	}
}

func TestCompileRefusesWhatItCannotRun(t *testing.T) {
	r := registry(t)
	if _, err := r.Compile(&Env{}, confs("t-a", `{}`, "nonexistent", `{}`)); !errors.Is(err, config.ErrUnknownPlugin) {
		t.Fatalf("unknown plugin: %v", err)
	}
	// Known but not enabled: left out, as APISIX's runtime does.
	r2, _ := NewRegistry([]string{"t-a"}, nil)
	ch, err := r2.Compile(&Env{}, confs("t-a", `{}`, "t-b", `{}`))
	if err != nil || strings.Join(ch.Names(), ",") != "t-a" {
		t.Fatalf("%v %v", ch.Names(), err)
	}
}

func TestCheckPluginSpeaksAPISIX(t *testing.T) {
	r := registry(t)
	check := func(k *config.Kind, name, conf string) (map[string]any, error) {
		v, err := jsonschema.DecodeJSON([]byte(conf))
		if err != nil {
			t.Fatal(err)
		}
		return v.(map[string]any), r.CheckPlugin(k, name, v)
	}
	if v, err := check(config.Routes, "t-a", `{}`); err != nil || v["exit"] != float64(0) {
		t.Fatalf("defaults not filled: %v %v", v, err)
	}
	if _, err := check(config.Routes, "t-a", `{"n": 0}`); err == nil || !strings.Contains(err.Error(), `property "n" validation failed`) {
		t.Fatalf("schema failure: %v", err)
	}
	if _, err := check(config.Routes, "t-a", `{"_meta": {"bogus": 1}}`); err == nil || !strings.Contains(err.Error(), `property "_meta" validation failed`) {
		t.Fatalf("_meta failure: %v", err)
	}
	if _, err := check(config.Routes, "t-a", `{"_meta": {"filter": ["arg_x", "==", "1"]}}`); err == nil || !strings.Contains(err.Error(), "filter") {
		t.Fatalf("bad _meta.filter: %v", err)
	}
	if _, err := check(config.Routes, "nope", `{}`); !errors.Is(err, config.ErrUnknownPlugin) {
		t.Fatalf("unknown: %v", err)
	}
	// An auth plugin on a consumer is checked against its consumer schema.
	if _, err := check(config.Consumers, "t-auth", `{}`); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("consumer schema: %v", err)
	}
	if _, err := check(config.Routes, "t-auth", `{}`); err != nil {
		t.Fatalf("route schema: %v", err)
	}
	if got := strings.Join(r.List(), ","); got != "t-a,t-auth,t-b" {
		t.Fatalf("list %s", got)
	}
}

func TestConsumerMerge(t *testing.T) {
	r := registry(t)
	idx, problems := r.BuildIndex(IndexInput{
		Consumers: []*config.Consumer{{
			Username: "jack", GroupID: config.ID{S: "g"},
			Plugins: config.Plugins{"t-auth": json.RawMessage(`{"key": "k1"}`), "t-b": json.RawMessage(`{}`)},
		}},
		Groups: map[string]*config.PluginSet{"g": {Plugins: config.Plugins{"t-a": json.RawMessage(`{"exit": 418}`)}}},
	})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	route, err := r.Compile(&Env{}, confs("t-auth", `{}`, "t-a", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	var c reqctx.Ctx
	var loop reqctx.Loop
	c.Loop, c.Config = &loop, idx
	if res, _ := route.Run(Rewrite, &c, 0, nil); res != reqctx.Continue || c.Consumer == nil || c.Consumer.Name != "jack" {
		t.Fatalf("auth: %v %+v", res, c.Consumer)
	}
	merged := MergeConsumer(&loop, route, c.Consumer)
	if MergeConsumer(&loop, route, c.Consumer) != merged {
		t.Fatal("merge not cached per loop")
	}
	// Only the plugin the consumer added (t-b) runs its rewrite now; the
	// group's t-a replaced the route's t-a (and exits with 418 in access).
	*trace(&c) = nil
	if res, _ := merged.RunConsumerRewrite(&c, 0); res != reqctx.Continue {
		t.Fatal(res)
	}
	if res, _ := merged.Run(Access, &c, 0, nil); res != reqctx.Stop || c.Status != 418 {
		t.Fatalf("group conf did not replace the route's: %v %d", res, c.Status)
	}
	if got := strings.Join(*trace(&c), " "); got != "t-b:rewrite t-a:access" {
		t.Fatalf("ran %s", got)
	}
}

func TestIndexReportsDuplicateKeys(t *testing.T) {
	r := registry(t)
	idx, problems := r.BuildIndex(IndexInput{
		Consumers: []*config.Consumer{
			{Username: "a", Plugins: config.Plugins{"t-auth": json.RawMessage(`{"key": "same"}`)}},
			{Username: "b"},
		},
		Credentials: []*config.Credential{{ID: config.ID{S: "c1"}, Consumer: "b", Plugins: config.Plugins{"t-auth": json.RawMessage(`{"key": "same"}`)}}},
	})
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "duplicate key of plugin t-auth") {
		t.Fatalf("problems %v", problems)
	}
	if cr := idx.Credential("t-auth", []byte("same")); cr == nil || cr.Consumer.Name != "a" {
		t.Fatalf("credential %+v", cr)
	}
}

func TestGlobalRulesDropAPluginConfiguredTwice(t *testing.T) {
	r := registry(t)
	ch, problems := r.GlobalChain(&Env{}, map[string]*config.PluginSet{
		"1": {Plugins: config.Plugins{"t-a": json.RawMessage(`{}`), "t-b": json.RawMessage(`{}`)}},
		"2": {Plugins: config.Plugins{"t-a": json.RawMessage(`{}`)}},
	})
	if len(problems) != 1 || strings.Join(ch.Names(), ",") != "t-b" {
		t.Fatalf("%v %v", ch.Names(), problems)
	}
}

func TestIsAuth(t *testing.T) {
	r := registry(t)
	if !r.IsAuth("t-auth") || r.IsAuth("t-a") || r.IsAuth("nope") {
		t.Fatal("IsAuth")
	}
}

// ownerInst records which object its conf belongs to (plugin.Env.OwnerOf).
type ownerInst struct{ owner string }

func init() {
	Register(&Def{
		Name:   "t-owner",
		Schema: `{"type": "object"}`,
		New:    func(env *Env, _ []byte) (any, error) { return &ownerInst{owner: env.OwnerOf("t-owner")}, nil },
	})
}

// A consumer's conf inherited from its group belongs to the group (APISIX
// keys limit counters by it, so a group's consumers share a quota); its own
// conf belongs to the consumer.
func TestConsumerGroupConfsBelongToTheGroup(t *testing.T) {
	r, err := NewRegistry([]string{"t-owner", "t-auth"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	group := map[string]*config.PluginSet{"g": {Plugins: config.Plugins{"t-owner": json.RawMessage(`{}`)}}}
	idx, problems := r.BuildIndex(IndexInput{
		Consumers: []*config.Consumer{
			{Username: "jack", GroupID: config.ID{S: "g"}},
			{Username: "rose", GroupID: config.ID{S: "g"}, Plugins: config.Plugins{"t-owner": json.RawMessage(`{}`)}},
		},
		Groups: group,
	})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	for name, want := range map[string]string{"jack": "/apisix/consumer_groups/g", "rose": "/apisix/consumers/rose"} {
		cp := idx.Consumer(name).Plugins.(*ConsumerPlugins)
		if got := cp.entries[0].Instance().(*ownerInst).owner; got != want {
			t.Errorf("%s: owner %s, want %s", name, got, want)
		}
	}
}
