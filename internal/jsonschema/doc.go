// Package jsonschema is sluice's JSON Schema validator: the draft-4/7 subset
// APISIX's schemas use, with APISIX's failure texts (api7/jsonschema's
// wording, e.g. "property \"uri\" validation failed: string too short,
// expected at least 1, got 0") and APISIX's habit of filling in defaults
// while validating.
//
// It owns compiling a schema document (Compile, with "#/definitions/..."
// references resolved) and checking a decoded JSON value against it
// (Schema.Validate). Values are what DecodeJSON returns: map[string]any,
// []any, string, float64, bool and nil.
//
// It refuses to own any particular schema or what a failure means: package
// config holds APISIX's object schemas and marks their failures as invalid
// configuration, and the plugin registry will hold each plugin's. It lives
// under internal because both of those use it and nothing outside sluice
// should.
//
// A compiled Schema is immutable and safe from any goroutine. Validate
// writes defaults into the value it checks, so a value must not be validated
// from two goroutines at once.
package jsonschema
