package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/sluicegw/sluice/internal/testcert"
)

// limitChecker knows one plugin, "limit", whose conf needs a positive
// count and gets a default policy: a stand-in for the plugin registry.
type limitChecker struct{}

var errBadCount = errors.New(`property "count" is required`)

func (limitChecker) CheckPlugin(k *Kind, name string, conf any) error {
	if name != "limit" {
		return ErrUnknownPlugin
	}
	m, _ := conf.(map[string]any)
	if k == PluginMetadata {
		return nil
	}
	if _, ok := m["count"]; !ok {
		return errBadCount
	}
	if _, ok := m["policy"]; !ok {
		m["policy"] = "local"
	}
	return nil
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPipelineTexts pins what each step of the pipeline answers, in
// APISIX's words, for a client's write (Check) and for a stored object
// (Load): the same, except that Load admits a plugin sluice does not run.
func TestPipelineTexts(t *testing.T) {
	cert, key := testcert.Pair(t, "test.com")
	_, otherKey := testcert.Pair(t, "test.com")
	kr, err := NewKeyring(DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Keyring: kr, Plugins: limitChecker{}}
	for _, tc := range []struct {
		name      string
		kind      *Kind
		id, value string
		check     string // Check's error text; "" accepts
		load      string // Load's error text; "" accepts
	}{
		{"schema", Routes, "1", `{"uri": "/a", "upstream_id": 1, "methods": ["FETCH"]}`,
			`invalid configuration: property "methods" validation failed: failed to validate item 1: matches none of the enum values`, "same"},
		{"not an object", Routes, "1", `[1]`, "invalid configuration: invalid item data, it should be an object", "same"},
		{"vars", Routes, "1", `{"uri": "/a", "upstream_id": 1, "vars": [["arg_x", "~~", "["]]}`,
			"failed to validate the 'vars' expression: invalid regular expression \"[\": error parsing regexp: missing closing ]: `[`", "same"},
		{"unknown plugin", Routes, "1", `{"uri": "/a", "plugins": {"key-auth": {}, "limit": {"count": 1}}}`, "unknown plugin [key-auth]", ""},
		{"bad plugin conf", Services, "1", `{"plugins": {"limit": {}}}`,
			`failed to check the configuration of plugin limit err: property "count" is required`, "same"},
		{"consumer unknown plugin", Consumers, "jack", `{"username": "jack", "plugins": {"key-auth": {"key": "k"}}}`,
			"invalid plugins configuration: unknown plugin [key-auth]", ""},
		{"credential bad conf", Credentials, "jack/c1", `{"plugins": {"limit": {}}}`,
			`invalid plugins configuration: failed to check the configuration of plugin limit err: property "count" is required`, "same"},
		{"metadata unknown plugin", PluginMetadata, "key-auth", `{"k": "v"}`, "invalid plugin name", ""},
		{"metadata", PluginMetadata, "limit", `{"k": "v"}`, "", ""},
		{"ssl mismatched pair", SSLs, "1", string(mustJSON(t, map[string]any{"cert": cert, "key": otherKey, "sni": "test.com"})),
			"failed to handle cert-key pair: tls: private key does not match public key", "same"},
		{"ssl encrypted key", SSLs, "1", string(mustJSON(t, map[string]any{"cert": cert, "key": kr.Encrypt(key), "sni": "test.com"})), "", ""},
		{"ssl plain key", SSLs, "1", string(mustJSON(t, map[string]any{"cert": cert, "key": key, "sni": "test.com"})), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.load == "same" {
				tc.load = tc.check
			}
			_, _, err := p.Check(tc.kind, tc.id, []byte(tc.value))
			if got := errText(err); got != tc.check {
				t.Errorf("Check: %q\n                 want %q", got, tc.check)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Check: %v does not match ErrInvalid", err)
			}
			_, err = p.Load(tc.kind, tc.id, []byte(tc.value))
			if got := errText(err); got != tc.load {
				t.Errorf("Load: %q\n                 want %q", got, tc.load)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return Message(err)
}

func TestPipelineResults(t *testing.T) {
	kr, err := NewKeyring(DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Keyring: kr, Plugins: limitChecker{}}

	// The checker's defaults reach the value the Admin API stores.
	_, value, err := p.Check(Routes, "1", []byte(`{"uri": "/a", "plugins": {"limit": {"count": 1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mustJSON(t, value["plugins"])); got != `{"limit":{"count":1,"policy":"local"}}` {
		t.Errorf("stored plugins %s", got)
	}

	// A credential's id names its consumer; its secrets are decrypted.
	obj, err := p.Load(Credentials, "jack/c1", []byte(`{"plugins": {"key-auth": {"key": "s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cred := obj.(*Credential)
	if cred.ID.S != "c1" || cred.Consumer != "jack" || string(cred.Plugins["key-auth"]) != `{"key":"edd1c9f034335f136f87ad84b625c8f1"}` {
		t.Errorf("credential %+v %s", cred, cred.Plugins["key-auth"])
	}

	// Errors keep their cause.
	_, _, err = p.Check(Services, "1", []byte(`{"plugins": {"limit": {}}}`))
	if !errors.Is(err, errBadCount) || !errors.Is(err, ErrInvalid) {
		t.Errorf("%v: the checker's error is not in the chain", err)
	}
	_, _, err = p.Check(Consumers, "jack", []byte(`{"username": "jack", "plugins": {"nope": {}}}`))
	if !errors.Is(err, ErrUnknownPlugin) {
		t.Errorf("%v does not match ErrUnknownPlugin", err)
	}

	// The zero pipeline refuses every plugin.
	var zero *Pipeline
	if _, _, err := zero.Check(Routes, "1", []byte(`{"uri": "/a", "plugins": {"limit": {"count": 1}}}`)); errText(err) != "unknown plugin [limit]" {
		t.Errorf("nil pipeline: %v", err)
	}
}

// TestLoadRouteReusesNothing: a Route LoadRoute decodes into again holds
// exactly what Load returns for the new route, whatever it held before
// (a source reuses one for a whole load), and errors are Load's.
func TestLoadRouteReusesNothing(t *testing.T) {
	p := &Pipeline{Plugins: limitChecker{}}
	for _, before := range routeCorpus {
		for _, raw := range routeCorpus {
			var r Route
			_ = p.LoadRoute("k", []byte(before), &r)
			err := p.LoadRoute("k", []byte(raw), &r)
			want, wantErr := p.Load(Routes, "k", []byte(raw))
			switch {
			case (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error():
				t.Errorf("%s after %s: error %v, Load's %v", raw, before, err, wantErr)
			case err == nil && !reflect.DeepEqual(&r, want):
				t.Errorf("%s after %s:\n got %+v\nwant %+v", raw, before, &r, want)
			}
		}
	}
}
