package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The ciphertexts were made with openssl, independently of this code:
//
//	key=$(echo -n qeddd145sfvddff3 | xxd -p)
//	echo -n edd1c9f034335f136f87ad84b625c8f1 | openssl enc -aes-128-cbc -K $key -iv $key -base64 -A
func TestKeyringReadsWhatAPISIXWrites(t *testing.T) {
	kr, err := NewKeyring(DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ stored, plain string }{
		{"s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH", "edd1c9f034335f136f87ad84b625c8f1"}, // first key
		{"3KxZfy/YIZ/ejJTEIbS09g==", "secret"},                   // second key: rotation
		{"not-encrypted", "not-encrypted"},                       // written before encryption: kept
		{"AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAA=="}, // base64 but no key fits: kept
	} {
		if got := kr.Decrypt(tc.stored); got != tc.plain {
			t.Errorf("Decrypt(%q) = %q, want %q", tc.stored, got, tc.plain)
		}
	}
	if got := kr.Encrypt("edd1c9f034335f136f87ad84b625c8f1"); got != "s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH" {
		t.Errorf("Encrypt = %q, not what APISIX (openssl) writes", got)
	}
	for _, plain := range []string{"", "a", "0123456789abcdef", "0123456789abcdef0"} {
		if got := kr.Decrypt(kr.Encrypt(plain)); got != plain {
			t.Errorf("round trip of %q gave %q", plain, got)
		}
	}
}

func TestKeyringRejectsBadKeys(t *testing.T) {
	if _, err := NewKeyring([]string{"short"}); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	kr, err := NewKeyring(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := kr.Encrypt("x"); got != "x" {
		t.Errorf("an empty keyring encrypted: %q", got)
	}
}

func TestDecryptPluginsReadsAPISIXSecrets(t *testing.T) {
	kr, _ := NewKeyring(DefaultKeyring)
	const cipher, plain = "s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH", "edd1c9f034335f136f87ad84b625c8f1"
	p := Plugins{
		"csrf":          json.RawMessage(`{"key": "` + cipher + `", "expires": 12345678901234567890}`),
		"limit-count":   json.RawMessage(`{"redis_password": "plain, written before encryption"}`),
		"proxy-rewrite": json.RawMessage(`{"uri": "/x"}`),
		// key-auth's key is encrypted on consumers only: on a route it is
		// not a secret field.
		"key-auth": json.RawMessage(`{"key": "` + cipher + `"}`),
	}
	got := kr.DecryptPlugins(p)
	if want := `{"expires":12345678901234567890,"key":"` + plain + `"}`; string(got["csrf"]) != want {
		t.Fatalf("csrf: %s, want %s (numbers kept as written)", got["csrf"], want)
	}
	for _, name := range []string{"limit-count", "proxy-rewrite", "key-auth"} {
		if string(got[name]) != string(p[name]) {
			t.Errorf("%s changed: %s", name, got[name])
		}
	}
	if string(p["csrf"]) == string(got["csrf"]) {
		t.Fatal("the input was not copied")
	}
	var nothing Plugins = Plugins{"limit-count": p["limit-count"]}
	if fmt.Sprintf("%p", kr.DecryptPlugins(nothing)) != fmt.Sprintf("%p", nothing) {
		t.Fatal("a map with nothing to decrypt was copied")
	}
}

// Each kind decrypts with the schema APISIX decrypts it with: an auth
// plugin's consumer schema on consumers and credentials, a plugin's own
// schema elsewhere (consumer groups included), the metadata schema on
// plugin_metadata.
func TestDecryptSecretsBySchema(t *testing.T) {
	kr, _ := NewKeyring(DefaultKeyring)
	enc := kr.Encrypt("s3cret")
	plugins := Plugins{
		"key-auth":    json.RawMessage(`{"key": "` + enc + `"}`),
		"limit-count": json.RawMessage(`{"redis_password": "` + enc + `"}`),
	}
	for _, tc := range []struct {
		obj  Object
		get  func() Plugins
		want string // the plugins decrypted
	}{
		{&Consumer{Username: "a", Plugins: plugins}, nil, "key-auth limit-count"},
		{&Credential{Plugins: plugins}, nil, "key-auth limit-count"},
		{&Route{Plugins: plugins}, nil, "limit-count"},
		{&PluginSet{Plugins: plugins}, nil, "limit-count"},
	} {
		decryptSecrets(tc.obj, kr)
		var got Plugins
		switch o := tc.obj.(type) {
		case *Consumer:
			got = o.Plugins
		case *Credential:
			got = o.Plugins
		case *Route:
			got = o.Plugins
		case *PluginSet:
			got = o.Plugins
		}
		var names []string
		for _, name := range []string{"key-auth", "limit-count"} {
			if strings.Contains(string(got[name]), `"s3cret"`) {
				names = append(names, name)
			}
		}
		if strings.Join(names, " ") != tc.want {
			t.Errorf("%T: decrypted %v, want %s", tc.obj, names, tc.want)
		}
	}
	md := &Metadata{Plugin: "azure-functions", Value: json.RawMessage(`{"master_apikey": "` + enc + `", "other": "` + enc + `"}`)}
	decryptSecrets(md, kr)
	if want := `{"master_apikey":"s3cret","other":"` + enc + `"}`; string(md.Value) != want {
		t.Errorf("metadata: %s, want %s", md.Value, want)
	}
}

// What the Admin API stores is what APISIX stores: t/node/data_encrypt.t
// reads basic-auth's password "bar" back from etcd as
// "77+NmbYqNfN+oLm0aX5akg==" with keyring [edd1c9f0985e76a2].
func TestEncryptObjectAsAPISIX(t *testing.T) {
	kr, err := NewKeyring([]string{"edd1c9f0985e76a2"})
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{"username": "foo", "plugins": map[string]any{
		"basic-auth":  map[string]any{"username": "foo", "password": "bar"},
		"limit-count": map[string]any{"count": 1.0, "redis_password": "p"},
		"ai-proxy-multi": map[string]any{"instances": []any{
			map[string]any{"auth": map[string]any{"header": map[string]any{"Authorization": "t"}, "query": map[string]any{"k": "q"}}},
		}},
	}}
	kr.EncryptObject(Consumers, "foo", obj)
	plugins := obj["plugins"].(map[string]any)
	if got := plugins["basic-auth"].(map[string]any)["password"]; got != "77+NmbYqNfN+oLm0aX5akg==" {
		t.Fatalf("password stored as %v", got)
	}
	if got := plugins["limit-count"].(map[string]any)["redis_password"]; got == "p" {
		t.Fatal("a non-auth plugin's secret on a consumer was not encrypted")
	}
	inst := plugins["ai-proxy-multi"].(map[string]any)["instances"].([]any)[0].(map[string]any)["auth"].(map[string]any)
	if inst["header"].(map[string]any)["Authorization"] == "t" || inst["query"].(map[string]any)["k"] == "q" {
		t.Fatal("dotted paths through arrays and maps of strings were not encrypted")
	}
	kr.DecryptObject(Consumers, "foo", obj)
	if got, _ := json.Marshal(obj); string(got) != `{"plugins":{"ai-proxy-multi":{"instances":[{"auth":{"header":{"Authorization":"t"},"query":{"k":"q"}}}]},"basic-auth":{"password":"bar","username":"foo"},"limit-count":{"count":1,"redis_password":"p"}},"username":"foo"}` {
		t.Fatalf("round trip: %s", got)
	}
	// On a route, basic-auth has no secret field; with no keyring, nothing
	// is encrypted anywhere.
	route := map[string]any{"plugins": map[string]any{"basic-auth": map[string]any{"password": "bar"}}}
	kr.EncryptObject(Routes, "1", route)
	empty, _ := NewKeyring(nil)
	empty.EncryptObject(Consumers, "foo", obj)
	if route["plugins"].(map[string]any)["basic-auth"].(map[string]any)["password"] != "bar" ||
		obj["plugins"].(map[string]any)["basic-auth"].(map[string]any)["password"] != "bar" {
		t.Fatal("encrypted where APISIX does not")
	}
}
