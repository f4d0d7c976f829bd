package config

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/jsonschema"
)

// routeCorpus is routes of every shape: the fast path's fields, its
// fallbacks (plugins, vars, upstream, numeric ids, unknown and odd keys),
// and invalid ones.
var routeCorpus = []string{
	`{"id": "123", "uri": "/svc1/api/v1/res1", "methods": ["GET"], "upstream_id": "a", "priority": 0, "status": 1}`,
	`{"uri": "/a/*", "hosts": ["A.com", "*.b.com"], "priority": -3, "service_id": "s1", "name": "n", "desc": "d",
	  "labels": {"k": "v"}, "remote_addrs": ["10.0.0.0/8", "::1"], "enable_websocket": true, "create_time": 1700000000,
	  "update_time": 1700000001, "timeout": {"connect": 0.5, "send": 2, "read": 3}, "filter_func": "function() return true end"}`,
	`{"uris": ["/a", "/b"], "host": "x.com", "remote_addr": "10.1.1.1", "upstream_id": "u", "plugin_config_id": "p", "status": 0}`,
	`{"uri": "/a", "upstream_id": 7}`,
	`{"uri": "/a", "service_id": "s", "plugins": {"key-auth": {}}}`,
	`{"uri": "/a", "upstream_id": "u", "vars": [["arg_a", "==", "1"]]}`,
	`{"uri": "/a", "upstream": {"nodes": {"127.0.0.1:1980": 1}}}`,
	`{"uri": "/a", "upstream_id": "u", "URI": "/b"}`,
	`{"uri": "/a", "upstream_id": "u", "priority": 1.5}`,
	`{"uri": "/a", "upstream_id": "u", "name": null, "labels": null}`,
	`{"uri": "/a", "upstream_id": "u", "timeout": null}`,
	`{"uri": "/a", "upstream_id": "u", "timeout": {"connect": 1, "extra": 2}}`,
	`{"uri": "/a", "upstream_id": "u", "methods": ["GET", null]}`,
	`{"uri": "/a", "upstream_id": "u", "id": "bad id!"}`,
	`{"uri": "/a", "upstream_id": "u", "priority": 1e3}`,
	`{"uri": "/a", "upstream_id": "u", "script": "x", "script_id": "s", "service_protocol": "grpc"}`,
	`{"uri": "/a", "upstream_id": "u", "methods": ["FETCH"]}`,
	`{"uri": "/a", "upstream_id": "u", "remote_addrs": ["not an ip"]}`,
}

// checkRouteDecode checks that the fast route decode agrees with the typed
// one on raw: the same route, or both refusing it. The one difference
// allowed: an integer written 1.0 or 1e3, which only encoding/json refuses.
func checkRouteDecode(t *testing.T, raw []byte) {
	t.Helper()
	v, err := jsonschema.DecodeJSON(raw)
	if err != nil {
		return
	}
	value, ok := v.(map[string]any)
	if !ok {
		return
	}
	fast := &Route{Name: "left from before"} // routeFromValue overwrites all of it
	if !routeFromValue(value, fast) {
		return // decodeValue decodes raw: nothing to compare
	}
	want, typedErr := decodeRoute("k1", raw)
	fast.ID = ID{S: "k1"}
	fastErr := fast.Normalize()
	var ute *json.UnmarshalTypeError
	switch {
	case typedErr != nil && fastErr != nil:
	case typedErr != nil && errors.As(typedErr, &ute) && strings.HasPrefix(ute.Value, "number"):
	case typedErr != nil || fastErr != nil:
		t.Fatalf("%s: typed decode %v, fast decode %v", raw, typedErr, fastErr)
	case !reflect.DeepEqual(want, fast):
		t.Fatalf("%s:\ntyped %+v\nfast  %+v", raw, want, fast)
	}
}

func TestRouteFromValueMatchesTypedDecode(t *testing.T) {
	for _, raw := range routeCorpus {
		checkRouteDecode(t, []byte(raw))
	}
	// Every route of the decode golden file, too.
	data, err := os.ReadFile("testdata/decode.txt")
	if err != nil {
		t.Fatal(err)
	}
	for block := range strings.SplitSeq(string(data), "\ndecode routes") {
		if in, _, ok := strings.Cut(block, "\n----"); ok {
			checkRouteDecode(t, []byte(strings.TrimSpace(in)))
		}
	}
	// The fast path is taken for the routes a large install has most of.
	var v map[string]any
	_ = json.Unmarshal([]byte(routeCorpus[0]), &v)
	if !routeFromValue(v, &Route{}) {
		t.Fatal("a plain route fell back to the typed decode")
	}
}

func FuzzRouteFromValue(f *testing.F) {
	for _, raw := range routeCorpus {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkRouteDecode(t, raw) })
}
