package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/config"
)

// authGateway is one sluice on its embedded etcd with the test origin
// behind it, for the auth plugins' end-to-end tests. Routes are told apart
// by host (<name>.test), so the tests' objects never interfere.
type authGateway struct {
	*etcdGateway
	origin *testOrigin
}

func startAuthGateway(t *testing.T) *authGateway {
	t.Helper()
	return &authGateway{etcdGateway: startEtcdGateway(t, "traditional", "", ""), origin: startOrigin(t)}
}

// must sends an Admin API request and fails unless it answers want.
func (g *authGateway) must(method, path, body string, want int) string {
	g.t.Helper()
	code, resp := g.adminCall(method, path, body)
	if code != want {
		g.t.Fatalf("%s %s: %d %s", method, path, code, resp)
	}
	return resp
}

// route puts route id on host <id>.test, path uri, with plugins (JSON).
func (g *authGateway) route(id, uri, plugins string) {
	g.t.Helper()
	body := fmt.Sprintf(`{"uri": %q, "host": "%s.test", "plugins": %s, "upstream": {"nodes": {%q: 1}, "type": "roundrobin"}}`,
		uri, id, plugins, g.origin.addr)
	code, resp := g.adminCall("PUT", "/apisix/admin/routes/"+id, body)
	if code != 200 && code != 201 {
		g.t.Fatalf("route %s: %d %s", id, code, resp)
	}
}

// reply is what the proxy answered.
type reply struct {
	status int
	header http.Header
	body   string
}

// send sends method target to host <route>.test with headers ("Name: value").
func (g *authGateway) send(method, target, route string, headers ...string) reply {
	g.t.Helper()
	req, err := http.NewRequest(method, "http://"+g.addr+target, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Host = route + ".test"
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Add(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// await sends the request until it answers status with body containing
// want: configuration reaches the data plane through the etcd watch.
func (g *authGateway) await(status int, want, target, route string, headers ...string) reply {
	g.t.Helper()
	var r reply
	waitUntil(g.t, fmt.Sprintf("%s on %s to answer %d %q", target, route, status, want), func() bool {
		r = g.send("GET", target, route, headers...)
		return r.status == status && strings.Contains(r.body, want)
	})
	return r
}

// expectAuth checks a reply's status, body and, when given, WWW-Authenticate.
func expectAuth(t *testing.T, what string, r reply, status int, body, challenge string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Errorf("%s: %d %q, want %d %q", what, r.status, r.body, status, body)
	}
	if got := r.header.Get("WWW-Authenticate"); got != challenge {
		t.Errorf("%s: WWW-Authenticate %q, want %q", what, got, challenge)
	}
}

func TestKeyAuthE2E(t *testing.T) {
	g := startAuthGateway(t)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "jack", "labels": {"custom_id": "42"}, "plugins": {"key-auth": {"key": "auth-one"}}}`, 201)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "rose"}`, 201)
	g.must("PUT", "/apisix/admin/consumers/rose/credentials/cred-1", `{"plugins": {"key-auth": {"key": "auth-two"}}}`, 201)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "anonymous"}`, 201)
	g.route("ka", "/uri", `{"key-auth": {}}`)

	r := g.await(200, "x-consumer-username: jack", "/uri", "ka", "apikey: auth-one")
	for _, want := range []string{"apikey: auth-one\n", "x-consumer-custom-id: 42\n"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("upstream saw\n%s\nwithout %q", r.body, want)
		}
	}
	if strings.Contains(r.body, "x-credential-identifier") {
		t.Errorf("a consumer's own key sent a credential id:\n%s", r.body)
	}
	r = g.await(200, "x-credential-identifier: cred-1", "/uri", "ka", "apikey: auth-two", "X-Consumer-Custom-ID: forged")
	if !strings.Contains(r.body, "x-consumer-username: rose\n") || strings.Contains(r.body, "forged") {
		t.Errorf("credential object:\n%s", r.body)
	}
	const challenge = `apikey realm="key"`
	r = g.send("GET", "/uri", "ka")
	expectAuth(t, "no key", r, 401, `{"message":"Missing API key in request"}`+"\n", challenge)
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("401 Content-Type %q", ct)
	}
	expectAuth(t, "wrong key", g.send("GET", "/uri", "ka", "apikey: 123"), 401, `{"message":"Invalid API key in request"}`+"\n", challenge)
	if r := g.send("GET", "/uri?apikey=auth-one", "ka"); r.status != 200 || !strings.Contains(r.body, "x-consumer-username: jack\n") {
		t.Errorf("key in the query: %d %s", r.status, r.body)
	}

	// hide_credentials, the key in the query; realm.
	g.route("ka-hide", "/plugin_proxy_rewrite_args", `{"key-auth": {"query": "auth", "hide_credentials": true, "realm": "my realm"}}`)
	r = g.await(200, "uri: /plugin_proxy_rewrite_args", "/plugin_proxy_rewrite_args?a=1&auth=auth-one&b=2", "ka-hide")
	if r.body != "uri: /plugin_proxy_rewrite_args\na: 1\nb: 2\n" {
		t.Errorf("hidden query argument: %q", r.body)
	}
	expectAuth(t, "realm", g.send("GET", "/plugin_proxy_rewrite_args", "ka-hide"), 401, `{"message":"Missing API key in request"}`+"\n", `apikey realm="my realm"`)

	// anonymous_consumer, with hide_credentials stripping the rejected key.
	g.route("ka-anon", "/uri", `{"key-auth": {"anonymous_consumer": "anonymous", "hide_credentials": true}}`)
	r = g.await(200, "x-consumer-username: anonymous", "/uri", "ka-anon", "apikey: invalid-key")
	if strings.Contains(r.body, "invalid-key") {
		t.Errorf("the rejected key reached the upstream:\n%s", r.body)
	}
	g.route("ka-ghost", "/uri", `{"key-auth": {"anonymous_consumer": "not-found-anonymous"}}`)
	r = g.await(401, "Invalid user authorization", "/uri", "ka-ghost")
	expectAuth(t, "missing anonymous consumer", r, 401, `{"message":"Invalid user authorization"}`+"\n", challenge)

	// Two consumers with one key, written past the Admin API (as another
	// control plane could): the data plane reports it and keeps the first
	// by name.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cli := etcdClient(t, g.endpoint)
	for _, name := range []string{"zed", "amy"} {
		if _, err := cli.Put(ctx, "/apisix/consumers/"+name, `{"username": "`+name+`", "plugins": {"key-auth": {"key": "shared"}}}`); err != nil {
			t.Fatal(err)
		}
	}
	g.await(200, "x-consumer-username: amy", "/uri", "ka", "apikey: shared")
	waitUntil(t, "the duplicate reported", func() bool {
		return strings.Contains(g.log.String(), "duplicate key of plugin key-auth found with consumer: zed")
	})

	// The plugins are listed, by priority, with their schemas.
	if _, body := g.adminCall("GET", "/apisix/admin/plugins/list", ""); !strings.Contains(body, `"basic-auth","jwt-auth","key-auth","consumer-restriction"`) {
		t.Errorf("plugins/list: %s", body)
	}
	if _, body := g.adminCall("GET", "/apisix/admin/plugins/key-auth?schema_type=consumer", ""); !strings.Contains(body, `"required":["key"]`) {
		t.Errorf("consumer schema: %s", body)
	}

	// The Admin API refuses bad confs with APISIX's texts.
	for _, tc := range []struct{ path, body, want string }{
		{"/apisix/admin/consumers", `{"username": "bad", "plugins": {"key-auth": {}}}`,
			`{"error_msg":"invalid plugins configuration: failed to check the configuration of plugin key-auth err: property \"key\" is required"}`},
		{"/apisix/admin/routes/bad", `{"uri": "/x", "plugins": {"key-auth": {"header": 1}}}`,
			`{"error_msg":"failed to check the configuration of plugin key-auth err: property \"header\" validation failed: wrong type: expected string, got number"}`},
		{"/apisix/admin/consumers", `{"username": "dup", "plugins": {"key-auth": {"key": "auth-one"}}}`,
			`{"error_msg":"duplicate key of plugin key-auth found with consumer: jack"}`},
		// As APISIX, the duplicate is found before the missing consumer.
		{"/apisix/admin/consumers/dup/credentials/c", `{"plugins": {"key-auth": {"key": "auth-two"}}}`,
			`{"error_msg":"duplicate key of plugin key-auth found with credential: cred-1 of consumer: rose"}`},
		{"/apisix/admin/consumers/dup/credentials/c", `{"plugins": {"key-auth": {"key": "auth-three"}}}`, ""},
		{"/apisix/admin/consumers/jack/credentials/c", `{"plugins": {"key-auth": {"key": "auth-two"}}}`,
			`{"error_msg":"duplicate key of plugin key-auth found with credential: cred-1 of consumer: rose"}`},
		{"/apisix/admin/consumers/jack/credentials/c", `{"plugins": {"consumer-restriction": {"whitelist": ["a"]}}}`,
			`{"error_msg":"only supports auth type plugins in consumer credential"}`},
	} {
		code, body := g.adminCall("PUT", tc.path, tc.body)
		if tc.want == "" {
			if code != 404 { // the consumer does not exist
				t.Errorf("PUT %s: %d %s", tc.path, code, body)
			}
			continue
		}
		if code != 400 || strings.TrimSpace(body) != tc.want {
			t.Errorf("PUT %s %s:\n%d %s\nwant 400 %s", tc.path, tc.body, code, body, tc.want)
		}
	}
}

// What the Admin API stores is encrypted with the keyring, as APISIX
// stores it; GET shows it plain; the data plane authenticates with it;
// PATCH keeps working.
func TestAuthSecretsEncryptedE2E(t *testing.T) {
	g := startAuthGateway(t)
	cli := etcdClient(t, g.endpoint)
	kr, err := config.NewKeyring(config.DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	g.must("PUT", "/apisix/admin/consumers", `{"username": "foo", "plugins": {"basic-auth": {"username": "foo", "password": "bar"}}}`, 201)
	g.must("PUT", "/apisix/admin/consumers/foo/credentials/k", `{"plugins": {"key-auth": {"key": "auth-one"}}}`, 201)
	stored := func(key string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, "/apisix"+key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("etcd %s: %v", key, err)
		}
		var v map[string]any
		if err := json.Unmarshal(resp.Kvs[0].Value, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	plugin := func(v map[string]any, name string) map[string]any {
		p, _ := v["plugins"].(map[string]any)
		c, _ := p[name].(map[string]any)
		return c
	}
	if got := plugin(stored("/consumers/foo"), "basic-auth")["password"]; got != kr.Encrypt("bar") {
		t.Errorf("password stored as %v, want %s", got, kr.Encrypt("bar"))
	}
	if got := plugin(stored("/consumers/foo/credentials/k"), "key-auth")["key"]; got != kr.Encrypt("auth-one") {
		t.Errorf("key stored as %v, want %s", got, kr.Encrypt("auth-one"))
	}
	_, body := g.adminCall("GET", "/apisix/admin/consumers/foo", "")
	if !strings.Contains(body, `"password":"bar"`) {
		t.Errorf("GET shows %s", body)
	}
	// Two auth plugins on one route must both pass (APISIX's multi-auth
	// is what accepts either); one route each.
	g.route("enc-basic", "/uri", `{"basic-auth": {}}`)
	g.route("enc", "/uri", `{"key-auth": {}}`)
	g.await(200, "x-consumer-username: foo", "/uri", "enc-basic", "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("foo:bar")))
	g.await(200, "x-credential-identifier: k", "/uri", "enc", "apikey: auth-one")

	// PATCH a route that carries a secret: it stays encrypted once.
	g.route("enc-patch", "/uri", `{"key-auth": {}}`)
	g.must("PATCH", "/apisix/admin/routes/enc-patch", `{"plugins": {"key-auth": {"hide_credentials": true}}}`, 200)
	r := g.await(200, "x-credential-identifier: k", "/uri", "enc-patch", "apikey: auth-one")
	if strings.Contains(r.body, "apikey:") {
		t.Errorf("the patched hide_credentials did not apply:\n%s", r.body)
	}
	// An APISIX control plane's writes read the same: a credential it
	// stored with the default keyring authenticates here.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "/apisix/consumers/foo/credentials/apisix", `{"plugins": {"key-auth": {"key": "`+kr.Encrypt("from-apisix")+`"}}}`); err != nil {
		t.Fatal(err)
	}
	g.await(200, "x-credential-identifier: apisix", "/uri", "enc", "apikey: from-apisix")
}

func TestBasicAuthE2E(t *testing.T) {
	g := startAuthGateway(t)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "foo", "plugins": {"basic-auth": {"username": "foo", "password": "bar"}}}`, 201)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "anonymous"}`, 201)
	g.route("ba", "/uri", `{"basic-auth": {}}`)
	g.await(200, "x-consumer-username: foo", "/uri", "ba", "Authorization: Basic Zm9vOmJhcg==")
	const challenge = `Basic realm="basic"`
	for _, tc := range []struct{ auth, msg string }{
		{"", "Missing authorization in request"},
		{"Bad_header YmFyOmJhcgo=", "Invalid authorization in request"},
		{"Basic aca_a", "Invalid authorization in request"},
		{"Basic YmFy", "Invalid authorization in request"},
		{"Basic YmFyOmJhcgo=", "Invalid user authorization"},
		{"Basic Zm9vOmZvbwo=", "Invalid user authorization"},
	} {
		var h []string
		if tc.auth != "" {
			h = append(h, "Authorization: "+tc.auth)
		}
		expectAuth(t, tc.auth, g.send("GET", "/uri", "ba", h...), 401, `{"message":"`+tc.msg+`"}`+"\n", challenge)
	}
	for _, scheme := range []string{"basic", "BASIC", "bASiC"} {
		if r := g.send("GET", "/uri", "ba", "Authorization: "+scheme+" Zm9vOmJhcg=="); r.status != 200 {
			t.Errorf("scheme %s: %d %s", scheme, r.status, r.body)
		}
	}
	g.route("ba-hide", "/uri", `{"basic-auth": {"hide_credentials": true}}`)
	r := g.await(200, "x-consumer-username: foo", "/uri", "ba-hide", "Authorization: Basic Zm9vOmJhcg==")
	if strings.Contains(r.body, "authorization") {
		t.Errorf("Authorization reached the upstream:\n%s", r.body)
	}
	g.route("ba-anon", "/uri", `{"basic-auth": {"anonymous_consumer": "anonymous"}}`)
	g.await(200, "x-consumer-username: anonymous", "/uri", "ba-anon", "Authorization: Basic Zm9vOmZvbwo=")
	code, body := g.adminCall("PUT", "/apisix/admin/consumers", `{"username": "u", "plugins": {"basic-auth": {"username": "foo"}}}`)
	if want := `{"error_msg":"invalid plugins configuration: failed to check the configuration of plugin basic-auth err: property \"password\" is required"}`; code != 400 || strings.TrimSpace(body) != want {
		t.Errorf("%d %s, want 400 %s", code, body, want)
	}
}

func TestJWTAuthE2E(t *testing.T) {
	g := startAuthGateway(t)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "jack", "plugins": {"jwt-auth": {"key": "user-key", "secret": "my-secret-key"}}}`, 201)
	g.route("jwt", "/uri", `{"jwt-auth": {}}`)
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("my-secret-key"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(jwt.MapClaims{"key": "user-key", "exp": time.Now().Add(time.Hour).Unix()})
	g.await(200, "x-consumer-username: jack", "/uri", "jwt", "Authorization: Bearer "+good)
	g.await(200, "x-consumer-username: jack", "/uri?jwt="+good, "jwt")
	g.await(200, "x-consumer-username: jack", "/uri", "jwt", "Cookie: jwt="+good)
	const challenge = `Bearer realm="jwt"`
	for _, tc := range []struct{ target, auth, msg string }{
		{"/uri", "", "Missing JWT token in request"},
		{"/uri?jwt=invalid-" + good, "", "JWT token invalid"},
		{"/uri", "Authorization: bearer invalid-" + good, "JWT token invalid"},
		{"/uri?jwt=" + sign(jwt.MapClaims{"key": "user-key", "exp": 1563870501}), "", "failed to verify jwt"},
		{"/uri?jwt=" + sign(jwt.MapClaims{"sub": "x"}), "", "missing user key in JWT token"},
		{"/uri?jwt=" + sign(jwt.MapClaims{"key": "nobody"}), "", "Invalid user key in JWT token"},
	} {
		var h []string
		if tc.auth != "" {
			h = append(h, tc.auth)
		}
		expectAuth(t, tc.target+" "+tc.auth, g.send("GET", tc.target, "jwt", h...), 401, `{"message":"`+tc.msg+`"}`+"\n", challenge)
	}
	g.route("jwt-hide", "/uri", `{"jwt-auth": {"hide_credentials": true}}`)
	r := g.await(200, "x-consumer-username: jack", "/uri", "jwt-hide", "Cookie: a=1; jwt="+good+"; b=2")
	if !strings.Contains(r.body, "cookie: a=1; b=2\n") {
		t.Errorf("cookie not rebuilt:\n%s", r.body)
	}
	code, body := g.adminCall("PUT", "/apisix/admin/consumers", `{"username": "rs", "plugins": {"jwt-auth": {"key": "rs", "algorithm": "RS256"}}}`)
	if want := `{"error_msg":"invalid plugins configuration: failed to check the configuration of plugin jwt-auth err: failed to validate dependent schema for \"algorithm\": value should match only one schema, but matches none"}`; code != 400 || strings.TrimSpace(body) != want {
		t.Errorf("%d %s, want 400 %s", code, body, want)
	}
}

// consumer-restriction, and a consumer's (and its group's) plugins running
// for that consumer only.
func TestConsumerRestrictionE2E(t *testing.T) {
	g := startAuthGateway(t)
	g.must("PUT", "/apisix/admin/consumer_groups/g1", `{"plugins": {"consumer-restriction": {"type": "route_id", "blacklist": ["cr-group"]}}}`, 201)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "jack1", "plugins": {"basic-auth": {"username": "jack2019", "password": "123456"}}}`, 201)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "jack2", "group_id": "g1", "plugins": {"basic-auth": {"username": "jack2020", "password": "123456"},
		"consumer-restriction": {"type": "route_id", "whitelist": ["cr-own"], "rejected_msg": "jack2 may not"}}}`, 201)
	g.must("PUT", "/apisix/admin/consumers", `{"username": "jack3", "plugins": {"basic-auth": {"username": "jack3", "password": "123456"}}}`, 201)
	const (
		jack1 = "Authorization: Basic amFjazIwMTk6MTIzNDU2"
		jack2 = "Authorization: Basic amFjazIwMjA6MTIzNDU2"
		jack3 = "Authorization: Basic amFjazM6MTIzNDU2"
	)
	g.route("cr", "/uri", `{"basic-auth": {}, "consumer-restriction": {"whitelist": ["jack1"]}}`)
	g.await(200, "x-consumer-username: jack1", "/uri", "cr", jack1)
	expectAuth(t, "jack3 not in the whitelist", g.await(403, "forbidden", "/uri", "cr", jack3), 403, `{"message":"The consumer_name is forbidden."}`+"\n", "")
	// A consumer's own consumer-restriction replaces the route's for it
	// (consumer > route): jack2's lets it through route cr-own only.
	expectAuth(t, "jack2's own conf", g.send("GET", "/uri", "cr", jack2), 403, `{"message":"jack2 may not"}`+"\n", "")
	expectAuth(t, "no authorization", g.send("GET", "/uri", "cr"), 401, `{"message":"Missing authorization in request"}`+"\n", `Basic realm="basic"`)

	g.route("cr-methods", "/uri", `{"basic-auth": {}, "consumer-restriction": {"allowed_by_methods": [{"user": "jack1", "methods": ["POST"]}], "rejected_code": 405}}`)
	r := g.await(405, "forbidden", "/uri", "cr-methods", jack1)
	expectAuth(t, "GET by jack1", r, 405, `{"message":"The consumer_name is forbidden."}`+"\n", "")
	if r := g.send("POST", "/uri", "cr-methods", jack1); r.status != 200 {
		t.Errorf("POST by jack1: %d %s", r.status, r.body)
	}

	g.route("cr-noauth", "/uri", `{"consumer-restriction": {"blacklist": ["jack1"]}}`)
	r = g.await(401, "rejected", "/uri", "cr-noauth", jack1)
	expectAuth(t, "no auth plugin", r, 401, `{"message":"The request is rejected, please check the consumer_name for this request"}`+"\n", "")

	// jack2's own consumer-restriction only lets it through route cr-own;
	// its group's blacklists route cr-group. jack1 has neither.
	g.route("cr-own", "/uri", `{"basic-auth": {}}`)
	g.route("cr-other", "/uri", `{"basic-auth": {}}`)
	g.route("cr-group", "/uri", `{"basic-auth": {}}`)
	g.await(200, "x-consumer-username: jack2", "/uri", "cr-own", jack2)
	expectAuth(t, "jack2 on another route", g.await(403, "may not", "/uri", "cr-other", jack2), 403, `{"message":"jack2 may not"}`+"\n", "")
	for _, route := range []string{"cr-own", "cr-other", "cr-group"} {
		if r := g.await(200, "x-consumer-username: jack1", "/uri", route, jack1); r.status != 200 {
			t.Errorf("jack1 on %s: %d", route, r.status)
		}
	}
	// The consumer's own conf wins over its group's (consumer > group):
	// jack2's whitelist, not g1's blacklist, decides on cr-group.
	expectAuth(t, "jack2 on cr-group", g.send("GET", "/uri", "cr-group", jack2), 403, `{"message":"jack2 may not"}`+"\n", "")
	// Without its own conf, the group's applies.
	g.must("PUT", "/apisix/admin/consumers", `{"username": "jack2", "group_id": "g1", "plugins": {"basic-auth": {"username": "jack2020", "password": "123456"}}}`, 200)
	expectAuth(t, "jack2 on cr-group, group conf", g.await(403, "route_id", "/uri", "cr-group", jack2), 403, `{"message":"The route_id is forbidden."}`+"\n", "")
	g.await(200, "x-consumer-username: jack2", "/uri", "cr-other", jack2)

	code, body := g.adminCall("PUT", "/apisix/admin/routes/bad", `{"uri": "/x", "plugins": {"consumer-restriction": {}}}`)
	if !strings.HasPrefix(strings.TrimSpace(body), `{"error_msg":"failed to check the configuration of plugin consumer-restriction err: `) || code != 400 {
		t.Errorf("%d %s", code, body)
	}
}
