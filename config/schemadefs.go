package config

import "encoding/json"

// SchemaDefinitions returns the "definitions" of the built-in schema
// document (APISIX's schema_def.lua pieces: upstream, id, nodes, timeout,
// ...) as a JSON object, for a plugin schema that embeds one of them with
// "$ref": "#/definitions/<name>", as traffic-split's inline upstreams are
// schema_def.upstream. Each call returns a fresh copy; nil when the
// document does not decode (every Decode then fails with builtinErr).
func SchemaDefinitions() json.RawMessage {
	var doc struct {
		Definitions json.RawMessage `json:"definitions"`
	}
	if json.Unmarshal(schemaDocument, &doc) != nil {
		return nil
	}
	return doc.Definitions
}
