package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/config"
)

// anyPlugin stands in for the plugin registry: every plugin is known and
// every conf good; the auth plugins are the ones sluice has.
type anyPlugin struct{}

func (anyPlugin) CheckPlugin(*config.Kind, string, any) error   { return nil }
func (anyPlugin) List() []string                                { return nil }
func (anyPlugin) Schema(string, string) (json.RawMessage, bool) { return nil, false }
func (anyPlugin) IsAuth(name string) bool {
	return name == "key-auth" || name == "basic-auth" || name == "jwt-auth"
}

// startSecretAdmin is an Admin API with keyring (nil: encryption off).
func startSecretAdmin(t *testing.T, keyring []string) (string, *clientv3.Client) {
	t.Helper()
	kr, err := config.NewKeyring(keyring)
	if err != nil {
		t.Fatal(err)
	}
	srv, cli := startAdmin(t, func(o *Options) {
		o.Pipeline = &config.Pipeline{Keyring: kr, Plugins: anyPlugin{}}
		o.Plugins = anyPlugin{}
	})
	return srv.URL + "/apisix/admin", cli
}

func etcdValue(t *testing.T, cli *clientv3.Client, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/apisix"+key)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("etcd %s: %v", key, err)
	}
	return string(resp.Kvs[0].Value)
}

// field reads a dotted path out of a JSON document.
func field(t *testing.T, doc, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	for _, seg := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[seg]
	}
	return v
}

// t/node/data_encrypt.t: with keyring [edd1c9f0985e76a2], basic-auth's
// password "bar" is stored as "77+NmbYqNfN+oLm0aX5akg==" and read back as
// "bar" from the Admin API.
func TestPluginSecretsAreEncryptedInEtcd(t *testing.T) {
	admin, cli := startSecretAdmin(t, []string{"edd1c9f0985e76a2"})
	const stored = "77+NmbYqNfN+oLm0aX5akg=="
	code, body := call(t, "PUT", admin+"/consumers", `{"username": "foo", "plugins": {"basic-auth": {"username": "foo", "password": "bar"}}}`)
	if code != http.StatusCreated || field(t, body, "value.plugins.basic-auth.password") != stored {
		t.Fatalf("PUT answers what it stored: %d %s", code, body)
	}
	if got := field(t, etcdValue(t, cli, "/consumers/foo"), "plugins.basic-auth.password"); got != stored {
		t.Fatalf("etcd holds %v", got)
	}
	if _, body := call(t, "GET", admin+"/consumers/foo", ""); field(t, body, "value.plugins.basic-auth.password") != "bar" {
		t.Fatalf("GET %s", body)
	}
	if _, body := call(t, "GET", admin+"/consumers", ""); !strings.Contains(body, `"password":"bar"`) {
		t.Fatalf("list %s", body)
	}

	// A credential's key-auth key; key-auth on a route has no secret.
	if code, body := call(t, "PUT", admin+"/consumers/foo/credentials/c1", `{"plugins": {"key-auth": {"key": "auth-one"}}}`); code != http.StatusCreated {
		t.Fatalf("%d %s", code, body)
	}
	if got := field(t, etcdValue(t, cli, "/consumers/foo/credentials/c1"), "plugins.key-auth.key"); got == "auth-one" || got == nil {
		t.Fatalf("credential key stored as %v", got)
	}
	if _, body := call(t, "GET", admin+"/consumers/foo/credentials/c1", ""); field(t, body, "value.plugins.key-auth.key") != "auth-one" {
		t.Fatalf("GET credential %s", body)
	}
	if code, body := call(t, "PUT", admin+"/routes/1", `{"uri": "/a", "plugins": {"key-auth": {"key": "k"}, "limit-count": {"count": 1, "time_window": 60, "redis_password": "pw"}}}`); code != http.StatusCreated {
		t.Fatalf("%d %s", code, body)
	}
	route := etcdValue(t, cli, "/routes/1")
	if field(t, route, "plugins.key-auth.key") != "k" || field(t, route, "plugins.limit-count.redis_password") == "pw" {
		t.Fatalf("route stored as %s", route)
	}

	// PATCH merges into the decrypted object: the secret is encrypted
	// once, not twice.
	if code, body := call(t, "PATCH", admin+"/routes/1", `{"desc": "patched"}`); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := call(t, "PATCH", admin+"/routes/1/plugins/limit-count/count", `2`); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	_, body = call(t, "GET", admin+"/routes/1", "")
	if field(t, body, "value.plugins.limit-count.redis_password") != "pw" || field(t, body, "value.desc") != "patched" || field(t, body, "value.plugins.limit-count.count") != float64(2) {
		t.Fatalf("after PATCH: %s", body)
	}
	if etcdValue(t, cli, "/routes/1") == route {
		t.Fatal("PATCH stored nothing")
	}
	if field(t, etcdValue(t, cli, "/routes/1"), "plugins.limit-count.redis_password") != field(t, route, "plugins.limit-count.redis_password") {
		t.Fatal("PATCH encrypted the secret again")
	}

	// Consumer groups, global rules and plugin metadata too.
	for _, w := range []struct{ path, body, secret string }{
		{"/consumer_groups/g1", `{"plugins": {"limit-count": {"count": 1, "time_window": 60, "redis_password": "pw"}}}`, "plugins.limit-count.redis_password"},
		{"/global_rules/1", `{"plugins": {"limit-req": {"rate": 1, "burst": 0, "redis_password": "pw"}}}`, "plugins.limit-req.redis_password"},
		{"/plugin_metadata/azure-functions", `{"master_apikey": "pw"}`, "master_apikey"},
	} {
		if code, body := call(t, "PUT", admin+w.path, w.body); code >= 300 {
			t.Fatalf("%s: %d %s", w.path, code, body)
		}
		if got := field(t, etcdValue(t, cli, w.path), w.secret); got == "pw" {
			t.Errorf("%s: stored in the clear", w.path)
		}
		if _, body := call(t, "GET", admin+w.path, ""); field(t, body, "value."+w.secret) != "pw" {
			t.Errorf("%s: GET %s", w.path, body)
		}
	}
}

// enable_encrypt_fields: false (an empty keyring) stores secrets as sent.
func TestNoKeyringStoresSecretsInTheClear(t *testing.T) {
	admin, cli := startSecretAdmin(t, nil)
	if code, body := call(t, "PUT", admin+"/consumers", `{"username": "foo", "plugins": {"key-auth": {"key": "auth-one"}}}`); code != http.StatusCreated {
		t.Fatalf("%d %s", code, body)
	}
	if got := field(t, etcdValue(t, cli, "/consumers/foo"), "plugins.key-auth.key"); got != "auth-one" {
		t.Fatalf("stored %v", got)
	}
}

// t/admin/consumers.t and credentials.t: an auth key one consumer or
// credential holds cannot be given to another.
func TestDuplicateAuthKeys(t *testing.T) {
	admin, _ := startSecretAdmin(t, []string{"edd1c9f0985e76a2"})
	put := func(path, body string) (int, string) {
		code, resp := call(t, "PUT", admin+path, body)
		if code < 300 {
			return code, ""
		}
		msg, _ := field(t, resp, "error_msg").(string)
		return code, msg
	}
	for _, step := range []struct {
		path, body string
		want       string // "" for success
	}{
		{"/consumers", `{"username": "case_a", "plugins": {"key-auth": {"key": "dup-1"}}}`, ""},
		{"/consumers", `{"username": "case_b", "plugins": {"key-auth": {"key": "dup-1"}}}`, "duplicate key of plugin key-auth found with consumer: case_a"},
		{"/consumers", `{"username": "case_b", "plugins": {"key-auth": {"key": "dup-2"}}}`, ""},
		{"/consumers", `{"username": "case_a", "desc": "updated", "plugins": {"key-auth": {"key": "dup-1"}}}`, ""},
		{"/consumers", `{"username": "case_c", "plugins": {"basic-auth": {"username": "u", "password": "p"}}}`, ""},
		{"/consumers", `{"username": "case_d", "plugins": {"basic-auth": {"username": "u", "password": "other"}}}`, "duplicate username of plugin basic-auth found with consumer: case_c"},
		{"/consumers/alex", `{"username": "alex"}`, ""},
		{"/consumers/bob", `{"username": "bob", "plugins": {"key-auth": {"key": "bob-key"}}}`, ""},
		{"/consumers/alex/credentials/cred-alex-a", `{"plugins": {"key-auth": {"key": "alex-a"}}}`, ""},
		{"/consumers/alex/credentials/cred-alex-a", `{"desc": "same key, itself", "plugins": {"key-auth": {"key": "alex-a"}}}`, ""},
		{"/consumers/alex/credentials/cred-alex-b", `{"plugins": {"key-auth": {"key": "alex-a"}}}`, "duplicate key of plugin key-auth found with credential: cred-alex-a of consumer: alex"},
		{"/consumers/bob/credentials/cred-bob", `{"plugins": {"key-auth": {"key": "alex-a"}}}`, "duplicate key of plugin key-auth found with credential: cred-alex-a of consumer: alex"},
		{"/consumers/alex/credentials/cred-alex-c", `{"plugins": {"key-auth": {"key": "bob-key"}}}`, "duplicate key of plugin key-auth found with consumer: bob"},
		{"/consumers/carol", `{"username": "carol", "plugins": {"key-auth": {"key": "alex-a"}}}`, "duplicate key of plugin key-auth found with credential: cred-alex-a of consumer: alex"},
		// A consumer does not conflict with its own credentials.
		{"/consumers/alex", `{"username": "alex", "plugins": {"key-auth": {"key": "alex-a"}}}`, ""},
		// Secret references cannot be compared when writing.
		{"/consumers/env1", `{"username": "env1", "plugins": {"key-auth": {"key": "$env://SOME_KEY"}}}`, ""},
		{"/consumers/env2", `{"username": "env2", "plugins": {"key-auth": {"key": "$env://SOME_KEY"}}}`, ""},
		// Only auth plugins in credentials.
		{"/consumers/alex/credentials/cred-x", `{"plugins": {"limit-count": {"count": 1, "time_window": 60}}}`, "only supports auth type plugins in consumer credential"},
	} {
		code, msg := put(step.path, step.body)
		if msg != step.want || (step.want != "" && code != http.StatusBadRequest) {
			t.Errorf("PUT %s %s: %d %q, want %q", step.path, step.body, code, msg, step.want)
		}
	}
}
