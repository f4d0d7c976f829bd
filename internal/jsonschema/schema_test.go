package jsonschema

import (
	"encoding/json"
	"testing"
)

func mustSchema(t *testing.T, doc string) *Schema {
	t.Helper()
	v, err := DecodeJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(v.(map[string]any), map[string]any{"n": map[string]any{"type": "number"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchemaMessages pins the validator's texts for the constructs the
// resource golden file (testdata/decode.txt) does not reach. Each message is
// the one api7/jsonschema produces for the same schema and value.
func TestSchemaMessages(t *testing.T) {
	for _, tc := range []struct{ schema, value, want string }{
		{`{"type": ["string", "integer"]}`, `true`, "wrong type: expected one of string, integer, got boolean"},
		{`{"type": "object"}`, `null`, "wrong type: expected object, got userdata"},
		{`{"maxLength": 3}`, `"héllo"`, "string too long, expected at most 3, got 5"},
		{`{"minLength": 2}`, `"é"`, "string too short, expected at least 2, got 1"},
		{`{"maximum": 10}`, `11`, "expected 11 to be at most 10"},
		{`{"exclusiveMaximum": 10}`, `10`, "expected 10 to be smaller than 10"},
		{`{"minimum": 0.5}`, `0.25`, "expected 0.25 to be at least 0.5"},
		{`{"maxItems": 1}`, `[1, 2]`, "expect array to have at most 1 items"},
		{`{"minItems": 1}`, `[]`, "expect array to have at least 1 items"},
		{`{"minProperties": 1}`, `{}`, "expect object to have at least 1 properties"},
		{`{"oneOf": [{"type": "integer"}, {"type": "number"}]}`, `1`, "value should match only one schema, but matches both schemas 1 and 2"},
		{`{"not": {"type": "string"}}`, `"x"`, "value wasn't supposed to match schema"},
		{`{"const": "a"}`, `"b"`, "failed to check const value"},
		{`{"format": "ipv6"}`, `"1.2.3.4"`, "expect valid ipv6 address but got: 1.2.3.4"},
		{`{"format": "ipv4"}`, `"::1"`, "expect valid ipv4 address but got: ::1"},
		{`{"dependencies": {"a": ["b"]}}`, `{"a": 1}`, `property "b" is required when "a" is set`},
		{`{"dependencies": {"a": {"required": ["c"]}}}`, `{"a": 1}`, `failed to validate dependent schema for "a": property "c" is required`},
		{`{"additionalProperties": {"type": "string"}}`, `{"a": 1}`, "failed to validate additional property a: wrong type: expected string, got number"},
		{`{"properties": {"x": {"$ref": "#/definitions/n"}}}`, `{"x": "1"}`, `property "x" validation failed: wrong type: expected number, got string`},
		{`{"enum": [1, "a", [1]]}`, `[1]`, ""},
		{`{"enum": [1, "a"]}`, `1.0`, ""},
		{`{"uniqueItems": true}`, `[{"a": 1}, {"a": 1.0}]`, "expected unique items but items 1 and 2 are equal"},
		{`{"allOf": [{"type": "integer"}, {"minimum": 5}]}`, `4`, "allOf 2 failed: expected 4 to be at least 5"},
	} {
		v, err := DecodeJSON([]byte(tc.value))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := mustSchema(t, tc.schema).Validate(v); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("schema %s value %s:\n got %q\nwant %q", tc.schema, tc.value, got, tc.want)
		}
	}
}

// Defaults are filled in as the Lua validator does: only for absent
// properties, deep-copied so two objects never share a default.
func TestSchemaDefaults(t *testing.T) {
	s := mustSchema(t, `{"properties": {"a": {"default": [1]}, "b": {"default": 2}}}`)
	v1, _ := DecodeJSON([]byte(`{"b": 3}`))
	v2, _ := DecodeJSON([]byte(`{}`))
	for _, v := range []any{v1, v2} {
		if err := s.Validate(v); err != nil {
			t.Fatal(err)
		}
	}
	v1.(map[string]any)["a"].([]any)[0] = 9
	b, _ := json.Marshal([]any{v1, v2})
	if got, want := string(b), `[{"a":[9],"b":3},{"a":[1],"b":2}]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestSchemaRefErrors(t *testing.T) {
	if _, err := Compile(map[string]any{"$ref": "#/definitions/missing"}, nil); err == nil {
		t.Error("a dangling $ref compiled")
	}
	if _, err := Compile(map[string]any{"pattern": "("}, nil); err == nil {
		t.Error("a bad pattern compiled")
	}
}
