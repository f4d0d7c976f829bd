package config

import (
	"encoding/json"
	"testing"
)

func TestSchemaDefinitions(t *testing.T) {
	var defs map[string]any
	if err := json.Unmarshal(SchemaDefinitions(), &defs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"upstream", "id", "nodes", "timeout"} {
		if _, ok := defs[name].(map[string]any); !ok {
			t.Errorf("no definition %q", name)
		}
	}
}
