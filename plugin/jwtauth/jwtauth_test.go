package jwtauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
	"github.com/sluicegw/sluice/plugin/jwtauth"
)

// Tokens from APISIX's t/plugin/jwt-auth.t and jwt-auth4.t, signed with
// "my-secret-key" for the consumer key "user-key".
const (
	apisixValid   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJ1c2VyLWtleSIsImV4cCI6MTg3OTMxODU0MX0.fNtFJnNmJgzbiYmGB0Yjvm-l6A6M4jRV1l4mnVFSYjs"
	apisixExpired = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJ1c2VyLWtleSIsImV4cCI6MTU2Mzg3MDUwMX0.pPNVvh-TQsdDzorRwa-uuiLYiEBODscp9wv0cwD6c68"
	apisixNbf     = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJ1c2VyLWtleSIsIm5iZiI6MTcyNzI3NDk4M30.N6ebc4U5ms976pwKZ_iQ88w_uJKqUVNtTYZ_nXhRpWo"
)

func answer(msg string) string {
	return `401 | Bearer realm="jwt" | {"message":"` + msg + `"}` + "\n"
}

// keys are generated once: RSA key generation is slow.
var keys = sync.OnceValue(func() map[string]any {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]any{"RS256": rsaKey, "PS256": rsaKey, "ES256": ecKey, "EdDSA": edKey}
})

func publicPEM(t testing.TB, priv any) string {
	der, err := x509.MarshalPKIXPublicKey(priv.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sign(t testing.TB, alg string, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func snapshot(t testing.TB) (*plugin.Registry, *plugin.Index) {
	r := plugintest.Registry(t, "jwt-auth")
	ks := keys()
	consumers := []*config.Consumer{
		plugintest.Consumer(t, `{"username": "jack", "plugins": {"jwt-auth": {"key": "user-key", "secret": "my-secret-key"}}}`),
		plugintest.Consumer(t, `{"username": "b64", "plugins": {"jwt-auth": {"key": "b64-key", "secret": "`+base64.StdEncoding.EncodeToString([]byte("raw\x00secret"))+`", "base64_secret": true}}}`),
		plugintest.Consumer(t, `{"username": "grace", "plugins": {"jwt-auth": {"key": "grace-key", "secret": "s", "algorithm": "HS512", "lifetime_grace_period": 100}}}`),
		plugintest.Consumer(t, `{"username": "broken", "plugins": {"jwt-auth": {"key": "broken-key", "algorithm": "RS256", "public_key": "not a key"}}}`),
		plugintest.Consumer(t, `{"username": "anonymous"}`),
		plugintest.Consumer(t, `{"username": "asym"}`),
	}
	var creds []*config.Credential
	for alg, priv := range ks {
		pub, _ := json.Marshal(publicPEM(t, priv))
		creds = append(creds, plugintest.Credential(t, "asym", `{"id": "`+alg+`", "plugins": {"jwt-auth": {"key": "`+alg+`-key", "algorithm": "`+alg+`", "public_key": `+string(pub)+`}}}`))
	}
	// A private key is accepted as the public key, as openssl reads it.
	der, _ := x509.MarshalPKCS8PrivateKey(ks["RS256"])
	privPEM, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	creds = append(creds, plugintest.Credential(t, "asym", `{"id": "priv", "plugins": {"jwt-auth": {"key": "priv-key", "algorithm": "RS512", "public_key": `+string(privPEM)+`}}}`))
	return r, plugintest.Index(t, r, plugin.IndexInput{Consumers: consumers, Credentials: creds})
}

func TestJWTAuth(t *testing.T) {
	r, idx := snapshot(t)
	ks := keys()
	now := time.Now().Unix()
	hs := func(claims jwt.MapClaims) string { return sign(t, "HS256", []byte("my-secret-key"), claims) }
	const ok = "/hello\nHost: a\nX-Consumer-Username: jack\n"
	for _, tc := range []struct {
		name, conf, target, header string
		exit, upstream             string
	}{
		{name: "missing token", conf: `{}`, target: "/hello", exit: answer("Missing JWT token in request")},
		{name: "invalid token (APISIX test 6)", conf: `{}`, target: "/hello?jwt=invalid-" + apisixValid, exit: answer("JWT token invalid")},
		{name: "expired token (APISIX test 7)", conf: `{}`, target: "/hello?jwt=" + apisixExpired, exit: answer("failed to verify jwt")},
		{name: "in header with Bearer (APISIX test 8)", conf: `{}`, target: "/hello", header: "Authorization: Bearer " + apisixValid, upstream: "/hello\nHost: a\nAuthorization: Bearer " + apisixValid + "\nX-Consumer-Username: jack\n"},
		{name: "in cookie", conf: `{"hide_credentials": true}`, target: "/hello", header: "Cookie: a=1; jwt=" + apisixValid + "; b=2", upstream: "/hello\nHost: a\nCookie: a=1; b=2\nX-Consumer-Username: jack\n"},
		{name: "in header without Bearer", conf: `{"hide_credentials": true}`, target: "/hello", header: "Authorization: " + apisixValid, upstream: ok},
		{name: "in header with bearer", conf: `{"hide_credentials": true}`, target: "/hello", header: "Authorization: bearer " + apisixValid, upstream: ok},
		{name: "BEARER is not a prefix", conf: `{}`, target: "/hello", header: "Authorization: BEARER " + apisixValid, exit: answer("JWT token invalid")},
		{name: "in query, hidden", conf: `{"hide_credentials": true}`, target: "/hello?a=1&jwt=" + apisixValid, upstream: "/hello?a=1\nHost: a\nX-Consumer-Username: jack\n"},
		{name: "nbf in the past (APISIX jwt-auth4)", conf: `{"hide_credentials": true}`, target: "/hello?jwt=" + apisixNbf, upstream: ok},
		{name: "query flag", conf: `{}`, target: "/hello?jwt", exit: answer("JWT token invalid")},
		{name: "two parts", conf: `{}`, target: "/hello?jwt=eyJhbGciOiJIUzI1NiJ9.eyJrZXkiOiJ1c2VyLWtleSJ9", exit: answer("JWT token invalid")},
		{name: "empty parts are skipped", conf: `{"hide_credentials": true}`, target: "/hello?jwt=" + strings.Replace(apisixValid, ".", "..", 1) + ".", upstream: ok},
		{name: "customized header", conf: `{"header": "Mytoken", "hide_credentials": true}`, target: "/hello", header: "mytoken: " + apisixValid, upstream: ok},
		{name: "customized query and cookie", conf: `{"query": "t", "cookie": "c"}`, target: "/hello?jwt=" + apisixValid, exit: answer("Missing JWT token in request")},
		{name: "missing key claim", conf: `{}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"sub": "x"}), exit: answer("missing user key in JWT token")},
		{name: "false key claim", conf: `{}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"key": false}), exit: answer("missing user key in JWT token")},
		{name: "numeric key claim", conf: `{}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"key": 1}), exit: answer("Invalid user key in JWT token")},
		{name: "unknown key", conf: `{}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"key": "nobody"}), exit: answer("Invalid user key in JWT token")},
		{name: "key_claim_name", conf: `{"key_claim_name": "iss", "hide_credentials": true}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"iss": "user-key", "exp": now + 60}), upstream: ok},
		{name: "wrong secret", conf: `{}`, target: "/hello?jwt=" + sign(t, "HS256", []byte("other"), jwt.MapClaims{"key": "user-key"}), exit: answer("failed to verify jwt")},
		{name: "algorithm mismatch", conf: `{}`, target: "/hello?jwt=" + sign(t, "HS384", []byte("my-secret-key"), jwt.MapClaims{"key": "user-key"}), exit: answer("failed to verify jwt")},
		{name: "HS256 token for an RS256 consumer", conf: `{}`, target: "/hello?jwt=" + sign(t, "HS256", []byte("x"), jwt.MapClaims{"key": "RS256-key"}), exit: answer("failed to verify jwt")},
		{name: "exp not a number", conf: `{}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"key": "user-key", "exp": "9999999999"}), exit: answer("failed to verify jwt")},
		{name: "nbf in the future", conf: `{}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"key": "user-key", "nbf": now + 60}), exit: answer("failed to verify jwt")},
		{name: "no exp is fine by default", conf: `{"hide_credentials": true}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"key": "user-key"}), upstream: ok},
		{name: "an empty claims_to_verify still checks exp", conf: `{"claims_to_verify": []}`, target: "/hello?jwt=" + apisixExpired, exit: answer("failed to verify jwt")},
		{name: "claims_to_verify requires the claim", conf: `{"claims_to_verify": ["nbf"]}`, target: "/hello?jwt=" + apisixValid, exit: answer("failed to verify jwt")},
		{name: "claims_to_verify only checks the listed claims", conf: `{"claims_to_verify": ["nbf"], "hide_credentials": true}`, target: "/hello?jwt=" + hs(jwt.MapClaims{"key": "user-key", "nbf": now - 10, "exp": now - 10}), upstream: ok},
		{name: "grace period", conf: `{}`, target: "/hello?jwt=" + sign(t, "HS512", []byte("s"), jwt.MapClaims{"key": "grace-key", "exp": now - 50}), upstream: "/hello?jwt=" + sign(t, "HS512", []byte("s"), jwt.MapClaims{"key": "grace-key", "exp": now - 50}) + "\nHost: a\nX-Consumer-Username: grace\n"},
		{name: "past the grace period", conf: `{}`, target: "/hello?jwt=" + sign(t, "HS512", []byte("s"), jwt.MapClaims{"key": "grace-key", "exp": now - 150}), exit: answer("failed to verify jwt")},
		{name: "base64 secret", conf: `{"hide_credentials": true}`, target: "/hello?jwt=" + sign(t, "HS256", []byte("raw\x00secret"), jwt.MapClaims{"key": "b64-key"}), upstream: "/hello\nHost: a\nX-Consumer-Username: b64\n"},
		{name: "an unusable public key fails verification", conf: `{}`, target: "/hello?jwt=" + sign(t, "HS256", []byte("x"), jwt.MapClaims{"key": "broken-key"}), exit: answer("failed to verify jwt")},
		{name: "malformed ES256 signature (APISIX test 59)", conf: `{}`, target: "/hello?jwt=eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJFUzI1Ni1rZXkiLCJuYmYiOjE3MjcyNzQ5ODN9.YWJj", exit: answer("failed to verify jwt")},
		{name: "undecodable signature", conf: `{}`, target: "/hello?jwt=eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJFUzI1Ni1rZXkiLCJuYmYiOjE3MjcyNzQ5ODN9.@@@@", exit: answer("failed to verify jwt")},
		{name: "anonymous", conf: `{"anonymous_consumer": "anonymous", "hide_credentials": true}`, target: "/hello?jwt=" + apisixExpired, upstream: "/hello\nHost: a\nX-Consumer-Username: anonymous\n"},
		{name: "missing anonymous", conf: `{"anonymous_consumer": "ghost"}`, target: "/hello", exit: answer("Invalid user authorization")},
		{name: "realm", conf: `{"realm": "my-jwt-realm"}`, target: "/hello", exit: `401 | Bearer realm="my-jwt-realm" | {"message":"Missing JWT token in request"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.RouteChain(t, r, `{"jwt-auth": `+tc.conf+`}`)
			req := "GET " + tc.target + " HTTP/1.1\nHost: a"
			if tc.header != "" {
				req += "\n" + tc.header
			}
			plugintest.ExpectAuthOutcome(t, ch, plugintest.NewCtxWith(t, req, idx), tc.exit, tc.upstream)
		})
	}
	t.Run("asymmetric algorithms", func(t *testing.T) {
		ch := plugintest.RouteChain(t, r, `{"jwt-auth": {"hide_credentials": true}}`)
		for alg, priv := range ks {
			c := plugintest.NewCtxWith(t, "GET /hello HTTP/1.1\nHost: a\nAuthorization: Bearer "+sign(t, alg, priv, jwt.MapClaims{"key": alg + "-key", "exp": now + 60}), idx)
			if res := plugintest.Request(ch, c); res != reqctx.Continue || c.Credential == nil || c.Credential.ID != alg {
				t.Errorf("%s: %v %s", alg, res, plugintest.Exit(c, "WWW-Authenticate"))
			}
			other := sign(t, alg, keys2()[alg], jwt.MapClaims{"key": alg + "-key"})
			c = plugintest.NewCtxWith(t, "GET /hello HTTP/1.1\nHost: a\nAuthorization: Bearer "+other, idx)
			if plugintest.Request(ch, c); plugintest.Exit(c, "WWW-Authenticate") != answer("failed to verify jwt") {
				t.Errorf("%s signed by another key: %s", alg, plugintest.Exit(c, "WWW-Authenticate"))
			}
		}
		c := plugintest.NewCtxWith(t, "GET /hello HTTP/1.1\nHost: a\nAuthorization: Bearer "+sign(t, "RS512", ks["RS256"], jwt.MapClaims{"key": "priv-key"}), idx)
		if res := plugintest.Request(ch, c); res != reqctx.Continue || c.Credential.ID != "priv" {
			t.Errorf("private key as public_key: %v %s", res, plugintest.Exit(c, "WWW-Authenticate"))
		}
	})
}

// keys2 are other keys of the same kinds, for signatures that must fail.
var keys2 = sync.OnceValue(func() map[string]any {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]any{"RS256": rsaKey, "PS256": rsaKey, "ES256": ecKey, "EdDSA": edKey}
})

func TestStoreInCtx(t *testing.T) {
	r, idx := snapshot(t)
	for conf, want := range map[string]string{`{}`: "", `{"store_in_ctx": true}`: `{"key":"user-key","exp":1879318541}`} {
		ch := plugintest.RouteChain(t, r, `{"jwt-auth": `+conf+`}`)
		c := plugintest.NewCtxWith(t, "GET /hello?jwt="+apisixValid+" HTTP/1.1\nHost: a", idx)
		if res := plugintest.Request(ch, c); res != reqctx.Continue {
			t.Fatal(res)
		}
		got := ""
		if p, ok := c.Local(jwtauth.PayloadKey).(*jwtauth.Payload); ok {
			got = string(p.JSON)
		}
		if got != want {
			t.Errorf("%s: payload %q, want %q", conf, got, want)
		}
	}
}

func TestSchemas(t *testing.T) {
	r := plugintest.Registry(t, "jwt-auth")
	check := func(k *config.Kind, conf string) (map[string]any, error) {
		return plugintest.CheckAs(r, k, "jwt-auth", conf)
	}
	// APISIX test 1: the consumer defaults.
	v, err := check(config.Consumers, `{"key": "123", "secret": "my-secret-key"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(v); string(got) != `{"algorithm":"HS256","base64_secret":false,"exp":86400,"key":"123","lifetime_grace_period":0,"secret":"my-secret-key"}` {
		t.Fatalf("defaults %s", got)
	}
	if v, err := check(config.Routes, `{}`); err != nil || v["header"] != "authorization" || v["query"] != "jwt" || v["cookie"] != "jwt" || v["key_claim_name"] != "key" || v["realm"] != "jwt" {
		t.Fatalf("route defaults %v %v", v, err)
	}
	const rsaPub = "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKebDxlvQMGyEesAL1r1nIJBkSdqu3Hr\n7noq/0ukiZqVQLSJPMOv0oxQSutvvK3hoibwGakDOza+xRITB7cs2cECAwEAAQ==\n-----END PUBLIC KEY-----"
	pub, _ := json.Marshal(rsaPub)
	for _, tc := range []struct {
		kind       *config.Kind
		conf, want string
	}{
		{config.Consumers, `{"key": 123}`, `property "key" validation failed: wrong type: expected string, got number`},
		{config.Consumers, `{"key": "123"}`, `property "secret" is required when using HS based algorithms`},
		{config.Consumers, `{"key": "123", "algorithm": "HS512"}`, `property "secret" is required when using HS based algorithms`},
		{config.Consumers, `{"key": "123", "secret": "{^c0j4&]2!=J=", "base64_secret": true}`, "base64_secret required but the secret is not in base64 format"},
		{config.Consumers, `{"key": "user-key", "algorithm": "RS256"}`, `failed to validate dependent schema for "algorithm": value should match only one schema, but matches none`},
		{config.Consumers, `{"key": "user-key", "algorithm": "ES256"}`, `failed to validate dependent schema for "algorithm": value should match only one schema, but matches none`},
		{config.Consumers, `{"key": "", "secret": "s"}`, `property "key" validation failed`},
		{config.Consumers, `{"key": "k", "secret": ""}`, `property "secret" validation failed`},
		{config.Routes, `{"claims_to_verify": ["iat"]}`, `property "claims_to_verify" validation failed`},
		{config.Routes, `{"key_claim_name": ""}`, `property "key_claim_name" validation failed`},
	} {
		if _, err := check(tc.kind, tc.conf); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.kind.Name, tc.conf, err, tc.want)
		}
	}
	// APISIX test 51: no secret needed for RS256/ES256 (the key is not
	// checked against the algorithm).
	for _, alg := range []string{"RS256", "ES256"} {
		if _, err := check(config.Consumers, `{"key": "123", "algorithm": "`+alg+`", "public_key": `+string(pub)+`}`); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	if _, err := check(config.Consumers, `{"key": "123", "secret": "$env://NOT_BASE64", "base64_secret": true}`); err != nil {
		t.Errorf("a secret reference is not checked as base64: %v", err)
	}
}
