package basicauth_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/plugin"
	_ "github.com/sluicegw/sluice/plugin/basicauth"
)

const (
	missing     = `401 | Basic realm="basic" | {"message":"Missing authorization in request"}` + "\n"
	invalid     = `401 | Basic realm="basic" | {"message":"Invalid authorization in request"}` + "\n"
	invalidUser = `401 | Basic realm="basic" | {"message":"Invalid user authorization"}` + "\n"
)

func snapshot(t testing.TB) (*plugin.Registry, *plugin.Index) {
	r := plugintest.Registry(t, "basic-auth")
	return r, plugintest.Index(t, r, plugin.IndexInput{
		Consumers: []*config.Consumer{
			plugintest.Consumer(t, `{"username": "foo", "plugins": {"basic-auth": {"username": "foo", "password": "bar"}}}`),
			plugintest.Consumer(t, `{"username": "jack", "labels": {"custom_id": "j"}}`),
			plugintest.Consumer(t, `{"username": "anonymous"}`),
		},
		Credentials: []*config.Credential{
			plugintest.Credential(t, "jack", `{"id": "c1", "plugins": {"basic-auth": {"username": "jack-user", "password": "pw"}}}`),
			plugintest.Credential(t, "jack", `{"id": "c2", "plugins": {"basic-auth": {"username": "jack-colon", "password": "p:w"}}}`),
		},
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestBasicAuth(t *testing.T) {
	r, idx := snapshot(t)
	const foo = "/hello\nHost: a\nX-Consumer-Username: foo\n"
	for _, tc := range []struct {
		name, plugins, auth string // auth: the Authorization value, "-" for none
		exit, upstream      string
	}{
		{"missing authorization", `{}`, "-", missing, ""},
		{"invalid scheme", `{}`, "Bad_header YmFyOmJhcgo=", invalid, ""},
		{"bad base64", `{}`, "Basic aca_a", invalid, ""},
		{"no password", `{}`, "Basic YmFy", invalid, ""},
		{"empty decoded text", `{}`, "Basic =", invalid, ""},
		{"unknown user", `{}`, "Basic YmFyOmJhcgo=", invalidUser, ""},
		{"wrong password", `{}`, "Basic Zm9vOmZvbwo=", invalidUser, ""},
		{"capitalized scheme", `{}`, "Basic Zm9vOmJhcg==", "", "/hello\nHost: a\nAuthorization: Basic Zm9vOmJhcg==\nX-Consumer-Username: foo\n"},
		{"lowercase scheme", `{"hide_credentials": true}`, "basic Zm9vOmJhcg==", "", foo},
		{"uppercase scheme", `{"hide_credentials": true}`, "BASIC Zm9vOmJhcg==", "", foo},
		{"mixed case scheme", `{"hide_credentials": true}`, "bASiC Zm9vOmJhcg==", "", foo},
		{"the scheme may come anywhere", `{"hide_credentials": true}`, "Digest x, basic\t" + b64("foo:bar"), "", foo},
		{"padding is optional", `{"hide_credentials": true}`, "Basic Zm9vOmJhcg", "", foo},
		{"whitespace is removed", `{"hide_credentials": true}`, "Basic " + b64(" f o\to :\nbar "), "", foo},
		{"the password ends at a second colon", `{"hide_credentials": true}`, "Basic " + b64("foo:bar:baz"), "", foo},
		{
			"credential object", `{"hide_credentials": true}`, "Basic " + b64("jack-user:pw"), "",
			"/hello\nHost: a\nX-Consumer-Username: jack\nX-Credential-Identifier: c1\nX-Consumer-Custom-ID: j\n",
		},
		{"a colon in a stored password never matches", `{}`, "Basic " + b64("jack-colon:p:w"), invalidUser, ""},
		{"anonymous", `{"anonymous_consumer": "anonymous", "hide_credentials": true}`, "Basic Zm9vOmZvbwo=", "", "/hello\nHost: a\nX-Consumer-Username: anonymous\n"},
		{"missing anonymous", `{"anonymous_consumer": "ghost"}`, "-", invalidUser, ""},
		{"realm", `{"realm": "my realm"}`, "-", `401 | Basic realm="my realm" | {"message":"Missing authorization in request"}` + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.RouteChain(t, r, `{"basic-auth": `+tc.plugins+`}`)
			req := "GET /hello HTTP/1.1\nHost: a"
			if tc.auth != "-" {
				req += "\nAuthorization: " + tc.auth
			}
			plugintest.ExpectAuthOutcome(t, ch, plugintest.NewCtxWith(t, req, idx), tc.exit, tc.upstream)
		})
	}
}

func TestSchemas(t *testing.T) {
	r := plugintest.Registry(t, "basic-auth")
	check := func(k *config.Kind, conf string) (map[string]any, error) {
		return plugintest.CheckAs(r, k, "basic-auth", conf)
	}
	if v, err := check(config.Routes, `{}`); err != nil || v["realm"] != "basic" || v["hide_credentials"] != false {
		t.Fatalf("defaults %v %v", v, err)
	}
	for _, tc := range []struct{ conf, want string }{
		{`{"username": "foo"}`, `property "password" is required`},
		{`{"username": 123, "password": "x"}`, `property "username" validation failed: wrong type: expected string, got number`},
	} {
		if _, err := check(config.Consumers, tc.conf); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.conf, err, tc.want)
		}
	}
}
