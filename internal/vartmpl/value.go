package vartmpl

import (
	"encoding/json"
	"strconv"
)

// LuaString returns a conf value (a JSON string or number) as Lua's
// tostring writes it: integers without a fraction, other numbers as
// "%.14g". ok is false for other types.
func LuaString(v any) (s string, ok bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'g', 14, 64), true
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String(), true
		}
		return strconv.FormatFloat(f, 'g', 14, 64), true
	}
	return "", false
}
