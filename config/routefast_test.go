package config

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fastRouteTaken are routes decodeRouteFast must take (not decline): the
// shapes a large table is made of, and each property it reads. Without
// them the differential test below would pass on a decoder that declines
// everything.
var fastRouteTaken = []string{
	`{"id": "123", "uri": "/a/b", "methods": ["GET"], "upstream_id": "a", "priority": 0, "status": 1}`,
	`{"uri": "/a", "upstream_id": "u"}`,
	`{"uris": ["/a", "/b/*", ""], "service_id": "s.1", "status": 0, "priority": -7}`,
	`{"id": "r-1_x.y", "uri": "/a", "host": "*.Example.COM", "upstream_id": "u", "plugin_config_id": "pc"}`,
	`{"uri": "/a", "hosts": ["*", "[::1]:80", "a.b"], "service_id": "s", "methods": []}`,
	`{"uri": "/a", "upstream_id": "u", "name": "n", "desc": "", "create_time": 1700000000, "update_time": -1,
	  "enable_websocket": false, "labels": {"env": "prod", "": "x"}}`,
	`{"uri": "/a", "upstream_id": "u", "methods": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"]}`,
	`{"uri": "/café/日本", "upstream_id": "u", "name": "ünï", "labels": {}}`,
	` {"uri":"\/a\/b\"c\\\n","upstream_id":"u","desc":"\t"} ` + "\n",
	`{"uri": "/a", "upstream_id": "u", "priority": 999999999999999, "status": 1, "enable_websocket": true}`,
}

// fastRouteDeclined are routes decodeRouteFast must leave to the general
// path although it could read them: a repeated key (both of the general
// path's decoders keep the last value, which a fast decoder might not) and
// \u escapes (surrogates and invalid code points are encoding/json's to
// settle).
var fastRouteDeclined = []string{
	`{"uri": "/a", "upstream_id": "u", "uri": "/b"}`,
	`{"uri": "/a", "upstream_id": "u", "labels": {"a": "x", "a": "y"}}`,
	`{"uri": "/\u0061", "upstream_id": "u"}`,
}

// fastRouteEdges are hand-made routes at the edges of what decodeRouteFast
// reads: each must be declined or decoded as the general path decodes it.
var fastRouteEdges = []string{
	// Not one object.
	``, ` `, `null`, `[]`, `"x"`, `1`, `{}`, `{"uri": "/a", "upstream_id": "u"} x`, `{"uri": "/a", "upstream_id": "u"}}`,
	`{"uri": "/a", "upstream_id": "u",}`, `{"uri": "/a" "upstream_id": "u"}`, `{"uri": "/a", "upstream_id": "u"`,
	`{"uri": "/a", "upstream_id": "u"}{}`, `{uri: "/a", "upstream_id": "u"}`, `{'uri': "/a", "upstream_id": "u"}`,
	// Keys: unknown, repeated, differently cased or escaped.
	`{"uri": "/a", "upstream_id": "u", "uri": "/b"}`, `{"uri": "/a", "upstream_id": "u", "upstream_id": "v"}`,
	`{"uri": "/a", "upstream_id": "u", "id": "1", "id": "2"}`, `{"URI": "/a", "upstream_id": "u"}`,
	`{"u\u0072i": "/a", "upstream_id": "u"}`, `{"uri": "/a", "upstream_id": "u", "Labels": {}}`,
	`{"uri": "/a", "upstream_id": "u", "labels": {"a": "x", "a": "y"}}`,
	// null, and wrong types.
	`{"uri": null, "upstream_id": "u"}`, `{"uri": "/a", "upstream_id": null}`, `{"uri": "/a", "upstream_id": "u", "name": null}`,
	`{"uri": "/a", "upstream_id": "u", "status": null}`, `{"uri": "/a", "upstream_id": "u", "methods": null}`,
	`{"uri": "/a", "upstream_id": "u", "labels": null}`, `{"uri": "/a", "upstream_id": "u", "id": null}`,
	`{"uri": 1, "upstream_id": "u"}`, `{"uri": ["/a"], "upstream_id": "u"}`, `{"uris": "/a", "upstream_id": "u"}`,
	`{"uri": "/a", "upstream_id": true}`, `{"uri": "/a", "upstream_id": "u", "priority": "1"}`,
	`{"uri": "/a", "upstream_id": "u", "enable_websocket": 1}`, `{"uri": "/a", "upstream_id": "u", "enable_websocket": "true"}`,
	`{"uri": "/a", "upstream_id": "u", "methods": "GET"}`, `{"uri": "/a", "upstream_id": "u", "methods": [1]}`,
	`{"uri": "/a", "upstream_id": "u", "labels": []}`, `{"uri": "/a", "upstream_id": "u", "labels": {"a": 1}}`,
	`{"uri": "/a", "upstream_id": "u", "host": ["a.com"]}`, `{"uri": "/a", "upstream_id": "u", "hosts": "a.com"}`,
	`{"uri": "/a", "upstream_id": "u", "create_time": "1"}`, `{"uri": "/a", "upstream_id": "u", "desc": 1}`,
	`{"uri": "/a", "upstream_id": "u", "enable_websocket": tru}`, `{"uri": "/a", "upstream_id": "u", "enable_websocket": truex}`,
	`{"uri": "/a", "upstream_id": "u", "enable_websocket": nul}`,
	// Strings at and past their limits.
	`{"uri": "", "upstream_id": "u"}`, `{"uri": "a", "upstream_id": "u"}`, `{"uri": "/a", "upstream_id": "u", "name": ""}`,
	`{"uri": "/` + strings.Repeat("a", 4095) + `", "upstream_id": "u"}`, `{"uri": "/` + strings.Repeat("a", 4096) + `", "upstream_id": "u"}`,
	`{"uri": "/` + strings.Repeat("é", 4095) + `", "upstream_id": "u"}`, `{"uri": "/` + strings.Repeat("é", 4096) + `", "upstream_id": "u"}`,
	`{"uri": "/a", "upstream_id": "u", "name": "` + strings.Repeat("n", 256) + `"}`,
	`{"uri": "/a", "upstream_id": "u", "name": "` + strings.Repeat("n", 257) + `"}`,
	`{"uri": "/a", "upstream_id": "u", "name": "` + strings.Repeat("ñ", 256) + `"}`,
	`{"uri": "/a", "upstream_id": "u", "desc": "` + strings.Repeat("d", 256) + `"}`,
	`{"uri": "/a", "upstream_id": "u", "desc": "` + strings.Repeat("d", 257) + `"}`,
	`{"uri": "/a", "upstream_id": "u", "labels": {"k": "` + strings.Repeat("v", 256) + `"}}`,
	`{"uri": "/a", "upstream_id": "u", "labels": {"k": "` + strings.Repeat("v", 257) + `"}}`,
	`{"uri": "/a", "upstream_id": "u", "labels": {"k": ""}}`, `{"uri": "/a", "upstream_id": "u", "labels": {"k": "a b"}}`,
	`{"uri": "/a", "upstream_id": "u", "labels": {"k": "a\tb"}}`, `{"uri": "/a", "upstream_id": "u", "labels": {"k": "a\u00a0b"}}`,
	`{"uri": "/a", "upstream_id": "u", "labels": {"k": "\u00e9"}}`, `{"uri": "/a", "upstream_id": "u", "labels": {"k\n": "v"}}`,
	// Ids: the key stands in for a missing one; numbers; patterns; lengths.
	`{"uri": "/a", "upstream_id": "u", "id": "bad id!"}`, `{"uri": "/a", "upstream_id": "u", "id": ""}`,
	`{"uri": "/a", "upstream_id": "u", "id": 7}`, `{"uri": "/a", "upstream_id": 7}`, `{"uri": "/a", "upstream_id": "u", "id": 0}`,
	`{"uri": "/a", "upstream_id": "` + strings.Repeat("u", 64) + `"}`, `{"uri": "/a", "upstream_id": "` + strings.Repeat("u", 65) + `"}`,
	`{"uri": "/a", "upstream_id": "a/b"}`, `{"uri": "/a", "upstream_id": ""}`, `{"uri": "/a", "service_id": "é"}`,
	`{"uri": "/a", "upstream_id": "u", "plugin_config_id": "a b"}`, `{"uri": "/a", "upstream_id": "u", "id": "a\u002fb"}`,
	`{"uri": "/a", "upstream_id": "a\\b"}`, `{"uri": "/a", "upstream_id": "u", "id": "x", "plugin_config_id": 1}`,
	// Paths and hosts.
	`{"uri": "/a", "uris": ["/b"], "upstream_id": "u"}`, `{"uris": [], "upstream_id": "u"}`, `{"uris": ["/a", "/a"], "upstream_id": "u"}`,
	`{"uris": ["/a", "/A"], "upstream_id": "u"}`, `{"uris": [""], "upstream_id": "u"}`, `{"upstream_id": "u"}`,
	`{"uri": "/a", "upstream_id": "u", "host": "a.com", "hosts": ["b.com"]}`, `{"uri": "/a", "upstream_id": "u", "hosts": []}`,
	`{"uri": "/a", "upstream_id": "u", "hosts": ["a.com", "a.com"]}`, `{"uri": "/a", "upstream_id": "u", "hosts": ["a.com", "A.com"]}`,
	`{"uri": "/a", "upstream_id": "u", "host": ""}`, `{"uri": "/a", "upstream_id": "u", "host": "*"}`,
	`{"uri": "/a", "upstream_id": "u", "host": "**"}`, `{"uri": "/a", "upstream_id": "u", "host": "*.a.*"}`,
	`{"uri": "/a", "upstream_id": "u", "host": "a.*.com"}`, `{"uri": "/a", "upstream_id": "u", "host": "a com"}`,
	`{"uri": "/a", "upstream_id": "u", "host": "a_b-c:8080"}`, `{"uri": "/a", "upstream_id": "u", "host": "bücher.de"}`,
	`{"uri": "/a", "upstream_id": "u", "host": "a.com\n"}`, `{"uri": "/a", "upstream_id": "u", "hosts": ["*", "*x"]}`,
	// Methods.
	`{"uri": "/a", "upstream_id": "u", "methods": ["get"]}`, `{"uri": "/a", "upstream_id": "u", "methods": ["GET", "GET"]}`,
	`{"uri": "/a", "upstream_id": "u", "methods": ["OTHER"]}`, `{"uri": "/a", "upstream_id": "u", "methods": ["FETCH"]}`,
	`{"uri": "/a", "upstream_id": "u", "methods": ["GET",]}`, `{"uri": "/a", "upstream_id": "u", "methods": [,]}`,
	`{"uri": "/a", "upstream_id": "u", "methods": ["G\u0045T"]}`, `{"uri": "/a", "upstream_id": "u", "methods": ["GET" "POST"]}`,
	// Numbers.
	`{"uri": "/a", "upstream_id": "u", "status": 2}`, `{"uri": "/a", "upstream_id": "u", "status": -1}`,
	`{"uri": "/a", "upstream_id": "u", "status": 1.0}`, `{"uri": "/a", "upstream_id": "u", "status": 1e0}`,
	`{"uri": "/a", "upstream_id": "u", "status": 0.5}`, `{"uri": "/a", "upstream_id": "u", "status": "1"}`,
	`{"uri": "/a", "upstream_id": "u", "status": true}`, `{"uri": "/a", "upstream_id": "u", "status": -0}`,
	`{"uri": "/a", "upstream_id": "u", "status": 01}`, `{"uri": "/a", "upstream_id": "u", "priority": 1.5}`,
	`{"uri": "/a", "upstream_id": "u", "priority": -0}`, `{"uri": "/a", "upstream_id": "u", "priority": 00}`,
	`{"uri": "/a", "upstream_id": "u", "priority": 1000000000000000}`, `{"uri": "/a", "upstream_id": "u", "priority": 9007199254740993}`,
	`{"uri": "/a", "upstream_id": "u", "priority": 1e400}`, `{"uri": "/a", "upstream_id": "u", "priority": -}`,
	`{"uri": "/a", "upstream_id": "u", "priority": +1}`, `{"uri": "/a", "upstream_id": "u", "priority": 1x}`,
	`{"uri": "/a", "upstream_id": "u", "priority": 1.}`, `{"uri": "/a", "upstream_id": "u", "create_time": 1e3}`,
	`{"uri": "/a", "upstream_id": "u", "update_time": 123456789012345}`,
	// Escapes, control characters, UTF-8.
	`{"uri": "/a\u0000", "upstream_id": "u"}`, `{"uri": "/a\ud800", "upstream_id": "u"}`, `{"uri": "/a\x", "upstream_id": "u"}`,
	"{\"uri\": \"/a\x01\", \"upstream_id\": \"u\"}", "{\"uri\": \"/a\xff\", \"upstream_id\": \"u\"}",
	"{\"uri\": \"/a\xc3\", \"upstream_id\": \"u\"}", "{\"uri\": \"/a\", \"upstream_id\": \"u\", \"name\": \"\xed\xa0\x80\"}",
	`{"uri": "/a\"", "upstream_id": "u"}`, `{"uri": "/a\\", "upstream_id": "u"}`, `{"uri": "/a\`, `{"uri": "\/", "upstream_id": "u"}`,
	"\ufeff{\"uri\": \"/a\", \"upstream_id\": \"u\"}", "{\"uri\": \"/a\",\v\"upstream_id\": \"u\"}",
	// What the fast decoder leaves to the general path.
	`{"uri": "/a", "plugins": {}}`, `{"uri": "/a", "upstream": {"nodes": {"127.0.0.1:80": 1}}}`, `{"uri": "/a", "script": "return 1 + 1"}`,
	`{"uri": "/a", "upstream_id": "u", "vars": []}`, `{"uri": "/a", "upstream_id": "u", "remote_addr": "10.0.0.1"}`,
	`{"uri": "/a", "upstream_id": "u", "timeout": {"connect": 1, "send": 1, "read": 1}}`,
	`{"uri": "/a", "upstream_id": "u", "filter_func": "function() return true end"}`,
	`{"uri": "/a", "upstream_id": "u", "service_protocol": "grpc"}`, `{"uri": "/a", "upstream_id": "u", "script_id": "s"}`,
}

// fastRouteKeys are the keys each route is decoded under: good ones, and
// ones the schema refuses as an id (the key stands in for a missing id).
var fastRouteKeys = []string{"1", "k1", "", "bad key", strings.Repeat("k", 64), strings.Repeat("k", 65), "é"}

// checkFastRoute checks decodeRouteFast against the general path on the
// route raw stored under key: it must decline, or return the route the
// general path returns (which must accept it). It reports whether the fast
// decoder took the route.
func checkFastRoute(t *testing.T, key string, raw []byte) bool {
	t.Helper()
	fast := &Route{Name: "left from before", Paths: []string{"/stale"}, Status: new(int)}
	if !decodeRouteFast(key, raw, fast) {
		return false
	}
	// The whole pipeline as a load ran it before the fast decoder.
	want, _, err := (&Pipeline{}).run(Routes, key, raw, true, nil)
	if err != nil {
		t.Fatalf("%q under key %q: the fast decoder took a route the pipeline refuses: %v", raw, key, err)
	}
	if !reflect.DeepEqual(want, fast) {
		t.Fatalf("%q under key %q:\npipeline %+v\nfast     %+v", raw, key, want, fast)
	}
	return true
}

// routeInputs returns every route document of the corpus: the lists
// above, the typed decode's corpus, and testdata's routes.txt and
// decode.txt.
func routeInputs(t testing.TB) []string {
	inputs := slices.Concat(fastRouteTaken, fastRouteDeclined, fastRouteEdges, routeCorpus)
	data, err := os.ReadFile("testdata/routes.txt")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			inputs = append(inputs, line)
		}
	}
	return append(inputs, decodeTxtRoutes(t)...)
}

// decodeTxtRoutes returns the inputs of testdata/decode.txt's route cases.
func decodeTxtRoutes(t testing.TB) []string {
	data, err := os.ReadFile("testdata/decode.txt")
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for block := range strings.SplitSeq(string(data), "\ndecode routes") {
		if in, _, ok := strings.Cut(block, "\n----"); ok {
			inputs = append(inputs, strings.TrimSpace(in))
		}
	}
	return inputs
}

func TestFastRouteMatchesPipeline(t *testing.T) {
	inputs := routeInputs(t)
	taken := 0
	for _, raw := range inputs {
		for _, key := range fastRouteKeys {
			if checkFastRoute(t, key, []byte(raw)) {
				taken++
			}
		}
	}
	for _, raw := range fastRouteTaken {
		if !checkFastRoute(t, "1", []byte(raw)) {
			t.Errorf("the fast decoder declined %s", raw)
		}
	}
	for _, raw := range fastRouteDeclined {
		if checkFastRoute(t, "1", []byte(raw)) {
			t.Errorf("the fast decoder took %s", raw)
		}
	}
	t.Logf("%d routes under %d keys: the fast decoder took %d", len(inputs), len(fastRouteKeys), taken)
}

func FuzzFastRoute(f *testing.F) {
	for _, raw := range routeInputs(f) {
		f.Add([]byte(raw), "1")
	}
	f.Add([]byte(fastRouteTaken[0]), "bad key")
	f.Fuzz(func(t *testing.T, raw []byte, key string) {
		checkFastRoute(t, key, raw)
		checkFastRoute(t, "1", raw)
	})
}

// TestFastRouteSchemaPinned fails when APISIX's route schema changes in a
// part decodeRouteFast relies on: its constraints are written into the
// decoder (limits, patterns, which property combinations are required).
// If it fails, bring decodeRouteFast in line with the new schema, then
// update fastRouteSchema.
func TestFastRouteSchemaPinned(t *testing.T) {
	b, err := json.Marshal(Routes.Schema)
	if err != nil {
		t.Fatal(err)
	}
	var sch map[string]any
	if err := json.Unmarshal(b, &sch); err != nil {
		t.Fatal(err)
	}
	props := sch["properties"].(map[string]any)
	pinned := map[string]any{}
	for _, name := range []string{"id", "uri", "uris", "name", "desc", "host", "hosts", "methods", "upstream_id",
		"service_id", "plugin_config_id", "priority", "status", "enable_websocket", "labels", "create_time", "update_time"} {
		pinned[name] = props[name]
	}
	delete(sch, "properties") // the rest of the properties: declined
	got, err := json.MarshalIndent(map[string]any{"properties": pinned, "rest": sch}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/routefast_schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("the route schema decodeRouteFast was written for changed; now:\n%s", got)
	}
}
