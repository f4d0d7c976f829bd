package plugin

import (
	"encoding/json"
	"fmt"

	"github.com/sluicegw/sluice/expr"
)

// meta is a conf's _meta (APISIX's plugin_injected_schema), compiled.
type meta struct {
	disable       bool
	priority      *int
	filter        *expr.Expr
	errorResponse []byte // nil: keep the plugin's own body
	preFunction   string
}

func checkMetaFilter(m any) error {
	obj, _ := m.(map[string]any)
	f, ok := obj["filter"]
	if !ok {
		return nil
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if _, err := expr.Compile(raw); err != nil {
		return fmt.Errorf("failed to validate the 'filter' expression: %w", err)
	}
	return nil
}

// parseMeta compiles the _meta of a raw plugin conf and returns the conf
// without it.
func parseMeta(raw json.RawMessage) (meta, json.RawMessage, error) {
	var probe struct {
		Meta *struct {
			Disable       bool            `json:"disable"`
			Priority      *int            `json:"priority"`
			Filter        json.RawMessage `json:"filter"`
			ErrorResponse json.RawMessage `json:"error_response"`
			PreFunction   string          `json:"pre_function"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return meta{}, nil, fmt.Errorf("plugin: conf: %w", err)
	}
	if probe.Meta == nil {
		return meta{}, raw, nil
	}
	var m meta
	pm := probe.Meta
	m.disable, m.priority, m.preFunction = pm.Disable, pm.Priority, pm.PreFunction
	if len(pm.Filter) > 0 {
		f, err := expr.Compile(pm.Filter)
		if err != nil {
			return meta{}, nil, fmt.Errorf("failed to validate the 'filter' expression: %w", err)
		}
		m.filter = f
	}
	if len(pm.ErrorResponse) > 0 && string(pm.ErrorResponse) != "null" {
		var s string
		if json.Unmarshal(pm.ErrorResponse, &s) == nil {
			m.errorResponse = []byte(s)
		} else {
			// A table is sent as core.response.exit sends one: JSON and "\n".
			var v any
			if err := json.Unmarshal(pm.ErrorResponse, &v); err != nil {
				return meta{}, nil, fmt.Errorf("plugin: _meta.error_response: %w", err)
			}
			b, _ := json.Marshal(v)
			m.errorResponse = append(b, '\n')
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return meta{}, nil, fmt.Errorf("plugin: conf: %w", err)
	}
	delete(obj, "_meta")
	rest, _ := json.Marshal(obj)
	return m, rest, nil
}
