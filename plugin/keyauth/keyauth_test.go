package keyauth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
	_ "github.com/sluicegw/sluice/plugin/keyauth"
)

const (
	invalid     = `401 | apikey realm="key" | {"message":"Invalid API key in request"}` + "\n"
	missing     = `401 | apikey realm="key" | {"message":"Missing API key in request"}` + "\n"
	invalidUser = `401 | apikey realm="key" | {"message":"Invalid user authorization"}` + "\n"
)

// snapshot has jack (key auth-one, custom_id 42), rose with a credential
// object (key auth-two), and an anonymous consumer.
func snapshot(t testing.TB) (*plugin.Registry, *plugin.Index) {
	r := plugintest.Registry(t, "key-auth")
	return r, plugintest.Index(t, r, plugin.IndexInput{
		Consumers: []*config.Consumer{
			plugintest.Consumer(t, `{"username": "jack", "labels": {"custom_id": "42"}, "plugins": {"key-auth": {"key": "auth-one"}}}`),
			plugintest.Consumer(t, `{"username": "rose"}`),
			plugintest.Consumer(t, `{"username": "anonymous"}`),
		},
		Credentials: []*config.Credential{
			plugintest.Credential(t, "rose", `{"id": "cred-1", "plugins": {"key-auth": {"key": "auth-two"}}}`),
		},
	})
}

func TestKeyAuth(t *testing.T) {
	r, idx := snapshot(t)
	for _, tc := range []struct {
		name, plugins, req string
		exit               string // "" when the request goes on
		upstream           string // what the upstream receives, when it does
	}{
		{
			name: "valid key in the header", plugins: `{"key-auth": {}}`,
			req:      "GET /hello HTTP/1.1\nHost: a\napikey: auth-one",
			upstream: "/hello\nHost: a\napikey: auth-one\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "invalid key", plugins: `{"key-auth": {}}`,
			req: "GET /hello HTTP/1.1\nHost: a\napikey: 123", exit: invalid,
		},
		{
			name: "no key", plugins: `{"key-auth": {}}`,
			req: "GET /hello HTTP/1.1\nHost: a", exit: missing,
		},
		{
			name: "an empty header is a key no one has", plugins: `{"key-auth": {}}`,
			req: "GET /hello HTTP/1.1\nHost: a\napikey:", exit: invalid,
		},
		{
			name: "credential object", plugins: `{"key-auth": {}}`,
			req:      "GET /hello HTTP/1.1\nHost: a\napikey: auth-two",
			upstream: "/hello\nHost: a\napikey: auth-two\nX-Consumer-Username: rose\nX-Credential-Identifier: cred-1\n",
		},
		{
			name: "spoofed consumer headers are replaced or removed", plugins: `{"key-auth": {}}`,
			req:      "GET /hello HTTP/1.1\nHost: a\napikey: auth-two\nX-Consumer-Username: admin\nX-Consumer-Custom-ID: 1",
			upstream: "/hello\nHost: a\napikey: auth-two\nX-Consumer-Username: rose\nX-Credential-Identifier: cred-1\n",
		},
		{
			name: "customized header", plugins: `{"key-auth": {"header": "Authorization"}}`,
			req:      "GET /hello HTTP/1.1\nHost: a\nauthorization: auth-one",
			upstream: "/hello\nHost: a\nauthorization: auth-one\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "an underscore in the header name also finds dashes", plugins: `{"key-auth": {"header": "x_api_key", "hide_credentials": true}}`,
			req:      "GET /hello HTTP/1.1\nHost: a\nX-Api-Key: auth-one",
			upstream: "/hello\nHost: a\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "customized query", plugins: `{"key-auth": {"query": "auth"}}`,
			req:      "GET /hello?auth=auth-one HTTP/1.1\nHost: a",
			upstream: "/hello?auth=auth-one\nHost: a\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "the query is percent-decoded", plugins: `{"key-auth": {}}`,
			req:      "GET /hello?apikey=auth%2Done HTTP/1.1\nHost: a",
			upstream: "/hello?apikey=auth%2Done\nHost: a\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "a repeated argument is a table, not a key", plugins: `{"key-auth": {}}`,
			req: "GET /hello?apikey=auth-one&apikey=auth-one HTTP/1.1\nHost: a", exit: invalid,
		},
		{
			name: "an argument without a value is true, not a key", plugins: `{"key-auth": {}}`,
			req: "GET /hello?apikey HTTP/1.1\nHost: a", exit: invalid,
		},
		{
			name: "the header wins over the query", plugins: `{"key-auth": {}}`,
			req: "GET /hello?apikey=auth-one HTTP/1.1\nHost: a\napikey: bad", exit: invalid,
		},
		{
			name: "hide_credentials false keeps the header", plugins: `{"key-auth": {"hide_credentials": false}}`,
			req:      "GET /hello HTTP/1.1\nHost: a\napikey: auth-one",
			upstream: "/hello\nHost: a\napikey: auth-one\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "hide_credentials removes the header", plugins: `{"key-auth": {"hide_credentials": true}}`,
			req:      "GET /hello HTTP/1.1\nHost: a\napikey: auth-one\nApiKey: other",
			upstream: "/hello\nHost: a\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "key in header and query: only the header is hidden", plugins: `{"key-auth": {"hide_credentials": true}}`,
			req:      "GET /hello?apikey=auth-one HTTP/1.1\nHost: a\napikey: auth-one",
			upstream: "/hello?apikey=auth-one\nHost: a\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "hide_credentials removes the query argument only", plugins: `{"key-auth": {"query": "auth", "hide_credentials": true}}`,
			req:      "GET /hello?a=1&auth=auth-one&b=2%203 HTTP/1.1\nHost: a",
			upstream: "/hello?a=1&b=2%203\nHost: a\nX-Consumer-Username: jack\nX-Consumer-Custom-ID: 42\n",
		},
		{
			name: "anonymous consumer when the key is missing", plugins: `{"key-auth": {"anonymous_consumer": "anonymous"}}`,
			req:      "GET /hello HTTP/1.1\nHost: a",
			upstream: "/hello\nHost: a\nX-Consumer-Username: anonymous\n",
		},
		{
			name:     "anonymous consumer with hide_credentials strips the rejected key everywhere",
			plugins:  `{"key-auth": {"query": "auth", "anonymous_consumer": "anonymous", "hide_credentials": true}}`,
			req:      "GET /hello?auth=invalid-key HTTP/1.1\nHost: a\napikey: invalid-key",
			upstream: "/hello\nHost: a\nX-Consumer-Username: anonymous\n",
		},
		{
			name: "an anonymous consumer that does not exist", plugins: `{"key-auth": {"anonymous_consumer": "not-found-anonymous"}}`,
			req: "GET /hello HTTP/1.1\nHost: a", exit: invalidUser,
		},
		{
			name: "realm", plugins: `{"key-auth": {"realm": "my-realm"}}`,
			req:  "GET /hello HTTP/1.1\nHost: a",
			exit: `401 | apikey realm="my-realm" | {"message":"Missing API key in request"}` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.RouteChain(t, r, tc.plugins)
			c := plugintest.NewCtxWith(t, tc.req, idx)
			plugintest.ExpectAuthOutcome(t, ch, c, tc.exit, tc.upstream)
			if tc.exit != "" && c.Consumer != nil {
				t.Fatalf("rejected, yet consumer %v", c.Consumer)
			}
		})
	}
}

// The consumer_name variable and the consumer's identity follow the key.
func TestKeyAuthSetsTheConsumer(t *testing.T) {
	r, idx := snapshot(t)
	ch := plugintest.RouteChain(t, r, `{"key-auth": {}}`)
	c := plugintest.NewCtxWith(t, "GET / HTTP/1.1\nHost: a\napikey: auth-two", idx)
	if res := plugintest.Request(ch, c); res != reqctx.Continue {
		t.Fatal(res)
	}
	if c.Consumer == nil || c.Consumer.Name != "rose" || c.Credential == nil || c.Credential.ID != "cred-1" {
		t.Fatalf("consumer %+v credential %+v", c.Consumer, c.Credential)
	}
	if v, ok := c.Var("consumer_name"); !ok || string(v) != "rose" {
		t.Fatalf("consumer_name %q %v", v, ok)
	}
}

func TestSchemas(t *testing.T) {
	r := plugintest.Registry(t, "key-auth")
	check := func(k *config.Kind, conf string) (map[string]any, error) {
		return plugintest.CheckAs(r, k, "key-auth", conf)
	}
	v, err := check(config.Routes, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"header": "apikey", "query": "apikey", "realm": "key", "hide_credentials": false}
	for k, w := range want {
		if v[k] != w {
			t.Fatalf("defaults %v, want %v", v, want)
		}
	}
	for _, tc := range []struct {
		kind       *config.Kind
		conf, want string
	}{
		{config.Routes, `{"header": 123}`, `property "header" validation failed: wrong type: expected string, got number`},
		{config.Routes, `{"realm": ""}`, `property "realm" validation failed`},
		{config.Routes, `{"realm": "a\"b"}`, `property "realm" validation failed`},
		{config.Routes, `{"anonymous_consumer": ""}`, `property "anonymous_consumer" validation failed`},
		{config.Consumers, `{}`, `property "key" is required`},
		{config.Consumers, `{"key": 123}`, `property "key" validation failed: wrong type: expected string, got number`},
		{config.Credentials, `{}`, `property "key" is required`},
	} {
		if _, err := check(tc.kind, tc.conf); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.kind.Name, tc.conf, err, tc.want)
		}
	}
	if _, err := check(config.Routes, `{"realm": "a b!#[]~"}`); err != nil {
		t.Errorf("printable realm refused: %v", err)
	}
}

func TestSecretReferences(t *testing.T) {
	t.Setenv("KEYAUTH_TEST_KEY", "from-env")
	t.Setenv("KEYAUTH_TEST_JSON", `{"k": "from-json"}`)
	r := plugintest.Registry(t, "key-auth")
	idx, problems := r.BuildIndex(plugin.IndexInput{Consumers: []*config.Consumer{
		plugintest.Consumer(t, `{"username": "a", "plugins": {"key-auth": {"key": "$env://KEYAUTH_TEST_KEY"}}}`),
		plugintest.Consumer(t, `{"username": "b", "plugins": {"key-auth": {"key": "$ENV://KEYAUTH_TEST_JSON/k"}}}`),
		plugintest.Consumer(t, `{"username": "c", "plugins": {"key-auth": {"key": "$env://KEYAUTH_UNSET_VARIABLE"}}}`),
		plugintest.Consumer(t, `{"username": "d", "plugins": {"key-auth": {"key": "$secret://vault/1/d"}}}`),
	}})
	if len(problems) != 2 || !errors.Is(problems[0], plugin.ErrSecretUnresolved) || !errors.Is(problems[1], plugin.ErrSecretManager) {
		t.Fatalf("problems %v", problems)
	}
	ch := plugintest.RouteChain(t, r, `{"key-auth": {}}`)
	for key, want := range map[string]string{
		"from-env": "a", "from-json": "b",
		"$env://KEYAUTH_TEST_KEY": "", "$env://KEYAUTH_UNSET_VARIABLE": "", "$secret://vault/1/d": "",
	} {
		c := plugintest.NewCtxWith(t, "GET / HTTP/1.1\nHost: a\napikey: "+key, idx)
		plugintest.Request(ch, c)
		got := ""
		if c.Consumer != nil {
			got = c.Consumer.Name
		}
		if got != want {
			t.Errorf("key %q authenticated %q, want %q", key, got, want)
		}
	}
}

// One Ctx and loop serve request after request, as on a connection: the
// per-loop scratch must not leak one request's key into the next.
func TestScratchIsPerRequest(t *testing.T) {
	r, idx := snapshot(t)
	ch := plugintest.RouteChain(t, r, `{"key-auth": {"hide_credentials": true}}`)
	c := plugintest.NewCtxWith(t, "GET /a?apikey=auth-one&x=1 HTTP/1.1\nHost: a", idx)
	if res := plugintest.Request(ch, c); res != reqctx.Continue || c.Consumer.Name != "jack" {
		t.Fatal(res)
	}
	plugintest.Reset(t, c, "GET /b?apikey=auth-two HTTP/1.1\nHost: a")
	if res := plugintest.Request(ch, c); res != reqctx.Continue || c.Consumer.Name != "rose" {
		t.Fatal(res)
	}
	if got, want := plugintest.UpstreamInOrder(c), "/b\nHost: a\nX-Consumer-Username: rose\nX-Credential-Identifier: cred-1\n"; got != want {
		t.Fatalf("upstream %q, want %q", got, want)
	}
	plugintest.Reset(t, c, "GET /c HTTP/1.1\nHost: a")
	if plugintest.Request(ch, c); plugintest.Exit(c, "WWW-Authenticate") != missing {
		t.Fatal(plugintest.Exit(c, "WWW-Authenticate"))
	}
}
