package ratelimit

import (
	"encoding/json"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
)

// Value is a limit a conf gives as an integer or as a template resolved
// per request (APISIX 3.16's "${var ?? default}" values: limit-count's
// count and time_window, limit-conn's conn and burst). Immutable.
type Value struct {
	n   int64
	tpl *vartmpl.Template
}

// ParseValue decodes a Value: a JSON string is a template, anything else
// must be an integer (the error is encoding/json's; the plugin words it).
func ParseValue(raw json.RawMessage) (Value, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return Value{tpl: vartmpl.Compile(s, false)}, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return Value{}, err
	}
	return Value{n: n}, nil
}

// Resolve returns the value for c: the integer as is, or the template
// rendered onto scratch[:0] and read by parse, which also says whether the
// text is acceptable (each plugin reads numbers its own way). It returns
// the scratch buffer for reuse; it allocates nothing unless scratch grows.
func (v *Value) Resolve(c *reqctx.Ctx, scratch []byte, parse func([]byte) (int64, bool)) (int64, []byte, bool) {
	if v.tpl == nil {
		return v.n, scratch, true
	}
	out := v.tpl.Append(scratch[:0], c, nil, nil)
	n, ok := parse(out)
	return n, out, ok
}
