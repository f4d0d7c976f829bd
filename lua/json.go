package lua

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	glua "github.com/yuin/gopher-lua"
)

// jsonNull is cjson.null: a userdata that encodes as JSON null.
var jsonNull = &glua.LUserData{Value: "null"}

// maxJSONDepth bounds nesting when converting between Lua and JSON.
const maxJSONDepth = 64

// ToGo converts a Lua value to the values encoding/json produces:
// map[string]any, []any, string, float64, bool, nil. A table with keys
// 1..n only is an array (an empty table is an object, as cjson's default).
func ToGo(v glua.LValue) (any, error) { return toGo(v, 0) }

func toGo(v glua.LValue, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("lua: value nested deeper than %d", maxJSONDepth)
	}
	switch x := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(x), nil
	case glua.LNumber:
		return float64(x), nil
	case glua.LString:
		return string(x), nil
	case *glua.LUserData:
		if x == jsonNull {
			return nil, nil
		}
	case *glua.LTable:
		if n := x.Len(); n > 0 {
			arr := make([]any, 0, n)
			isArray := true
			x.ForEach(func(k, _ glua.LValue) {
				if kn, ok := k.(glua.LNumber); !ok || kn < 1 || float64(kn) != math.Trunc(float64(kn)) || int(kn) > n {
					isArray = false
				}
			})
			if isArray {
				for i := 1; i <= n; i++ {
					e, err := toGo(x.RawGetInt(i), depth+1)
					if err != nil {
						return nil, err
					}
					arr = append(arr, e)
				}
				return arr, nil
			}
		}
		obj := map[string]any{}
		var err error
		x.ForEach(func(k, val glua.LValue) {
			if err != nil {
				return
			}
			var key string
			switch kk := k.(type) {
			case glua.LString:
				key = string(kk)
			case glua.LNumber:
				key = strconv.FormatFloat(float64(kk), 'f', -1, 64)
			default:
				err = fmt.Errorf("lua: cannot encode a table key of type %s", k.Type())
				return
			}
			obj[key], err = toGo(val, depth+1)
		})
		return obj, err
	}
	return nil, fmt.Errorf("lua: cannot encode a value of type %s", v.Type())
}

// FromGo converts a decoded JSON value into a Lua value.
func FromGo(L *glua.LState, v any) glua.LValue {
	switch x := v.(type) {
	case nil:
		return jsonNull
	case bool:
		return glua.LBool(x)
	case float64:
		return glua.LNumber(x)
	case json.Number:
		f, _ := x.Float64()
		return glua.LNumber(f)
	case string:
		return glua.LString(x)
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(FromGo(L, e))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range x {
				if !yield(k) {
					return
				}
			}
		}) {
			t.RawSetString(k, FromGo(L, x[k]))
		}
		return t
	}
	return glua.LNil
}

// encodeJSON encodes a Lua value as cjson does (compact).
func encodeJSON(v glua.LValue) (string, error) {
	g, err := ToGo(v)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(g)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeJSON(L *glua.LState, s string) (glua.LValue, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return glua.LNil, err
	}
	return FromGo(L, v), nil
}

// cjsonModule builds cjson (errors raise) or cjson.safe (errors return
// nil, message).
func cjsonModule(L *glua.LState, safe bool) *glua.LTable {
	m := L.NewTable()
	fail := func(L *glua.LState, err error) int {
		if safe {
			L.Push(glua.LNil)
			L.Push(glua.LString(err.Error()))
			return 2
		}
		L.RaiseError("%s", err.Error())
		return 0
	}
	L.SetFuncs(m, map[string]glua.LGFunction{
		"encode": func(L *glua.LState) int {
			s, err := encodeJSON(L.CheckAny(1))
			if err != nil {
				return fail(L, err)
			}
			L.Push(glua.LString(s))
			return 1
		},
		"decode": func(L *glua.LState) int {
			v, err := decodeJSON(L, L.CheckString(1))
			if err != nil {
				return fail(L, err)
			}
			L.Push(v)
			return 1
		},
	})
	m.RawSetString("null", jsonNull)
	return m
}
