package trafficsplit

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
	"github.com/sluicegw/sluice/plugin"
)

// schema is traffic-split.lua's schema, as JSON: an inline upstream is
// APISIX's schema_def.upstream and an upstream_id its id_schema, from the
// built-in schema document's definitions.
var schema = `{
  "definitions": ` + string(config.SchemaDefinitions()) + `,
  "type": "object",
  "properties": {
    "rules": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "match": {
            "type": "array",
            "items": {"type": "object", "properties": {"vars": {"type": "array"}}}
          },
          "weighted_upstreams": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "upstream_id": {"$ref": "#/definitions/id"},
                "upstream": {"$ref": "#/definitions/upstream"},
                "weight": {"description": "used to split traffic between differentupstreams for plugin configuration", "type": "integer", "default": 1, "minimum": 0}
              }
            },
            "default": [{"weight": 1}],
            "minItems": 1,
            "maxItems": 20
          }
        }
      }
    }
  }
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:     "traffic-split",
		Priority: 966,
		Version:  "0.1",
		Schema:   schema,
		Check:    check,
		New:      newSplit,
	})
}

// inlineFields are the upstream fields traffic-split.lua's set_upstream
// keeps from an inline upstream.
var inlineFields = []string{"name", "type", "hash_on", "pass_host", "upstream_host", "key", "nodes", "timeout", "scheme"}

type conf struct {
	Rules *[]struct {
		Match *[]struct {
			Vars json.RawMessage `json:"vars"`
		} `json:"match"`
		WeightedUpstreams *[]struct {
			UpstreamID json.RawMessage            `json:"upstream_id"`
			Upstream   map[string]json.RawMessage `json:"upstream"`
			Weight     *int                       `json:"weight"`
		} `json:"weighted_upstreams"`
	} `json:"rules"`
}

// split is a compiled conf. Immutable; shared by every loop.
type split struct {
	rules []rule
	// broken: rules is an empty array, which APISIX's roundrobin cannot
	// build (500).
	broken bool
}

type rule struct {
	key      uint64 // identity of the rule's round robin position (per loop)
	missing  []byte // the 500 body for the first upstream_id not found, if any
	hasMatch bool
	match    []*expr.Expr
	entries  []entry
	gcd, max int
}

type entry struct {
	up     any    // compiled upstream; nil: the route's own
	fail   []byte // the 500 body when this entry cannot be used
	weight int
}

var _ plugin.Accessor = (*split)(nil)

// check is check_schema beyond the schema: every match entry's vars must
// compile.
func check(obj map[string]any, _ bool) error {
	rules, _ := obj["rules"].([]any)
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		match, _ := rm["match"].([]any)
		for _, m := range match {
			mm, _ := m.(map[string]any)
			raw, err := json.Marshal(mm["vars"])
			if err != nil {
				return err
			}
			if _, err := expr.Compile(raw); err != nil {
				return fmt.Errorf("failed to validate the 'vars' expression: %w", err)
			}
		}
	}
	return nil
}

// errNoUpstreams: the conf sits where the config builder offers no
// upstreams (a global rule, a consumer).
var errNoUpstreams = errors.New("traffic-split: upstreams cannot be named here")

func newSplit(env *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	s := &split{}
	if c.Rules == nil {
		return s, nil
	}
	if len(*c.Rules) == 0 {
		s.broken = true
		return s, nil
	}
	for i, rc := range *c.Rules {
		r := rule{}
		if rc.Match != nil {
			r.hasMatch = true
			for _, m := range *rc.Match {
				e, err := expr.Compile(m.Vars)
				if err != nil {
					return nil, fmt.Errorf("failed to validate the 'vars' expression: %w", err)
				}
				r.match = append(r.match, e)
			}
		}
		h := fnv.New64a()
		h.Write([]byte(env.Owner))
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(nil, int64(i), 10))
		h.Write([]byte{0})
		ws, _ := json.Marshal(rc.WeightedUpstreams)
		h.Write(ws)
		r.key = h.Sum64()

		byKey := map[string]int{} // APISIX's server_list: one entry per upstream_id, one for the route's
		add := func(key string, e entry) {
			if i, dup := byKey[key]; dup && key != "" {
				r.entries[i].weight = e.weight
				return
			}
			if key != "" {
				byKey[key] = len(r.entries)
			}
			r.entries = append(r.entries, e)
		}
		ups := []struct {
			UpstreamID json.RawMessage            `json:"upstream_id"`
			Upstream   map[string]json.RawMessage `json:"upstream"`
			Weight     *int                       `json:"weight"`
		}{{}}
		if rc.WeightedUpstreams != nil {
			ups = *rc.WeightedUpstreams
		}
		for _, wu := range ups {
			weight := 1
			if wu.Weight != nil {
				weight = *wu.Weight
			}
			switch {
			case len(wu.UpstreamID) > 0 && string(wu.UpstreamID) != "null":
				id, key := idOf(wu.UpstreamID)
				e := entry{weight: weight}
				if env.Upstreams == nil {
					e.fail = []byte(errNoUpstreams.Error())
				} else if up, err := env.Upstreams.Find(id); err != nil {
					if r.missing == nil {
						r.missing = []byte("failed to fetch upstream info by upstream id: " + id)
					}
				} else {
					e.up = up
				}
				add(key, e)
			case wu.Upstream != nil:
				e := entry{weight: weight}
				if env.Upstreams == nil {
					e.fail = []byte(errNoUpstreams.Error())
				} else if up, err := env.Upstreams.Compile(inlineSubset(wu.Upstream)); err != nil {
					e.fail = []byte(err.Error())
				} else {
					e.up = up
				}
				add("", e)
			default:
				add("plugin#upstream#is#empty", entry{weight: weight})
			}
		}
		r.gcd, r.max = gcdMax(r.entries)
		s.rules = append(s.rules, r)
	}
	return s, nil
}

// idOf returns an upstream_id as the upstream's id, and the key APISIX's
// server_list files it under (a number and a string are different keys).
func idOf(raw json.RawMessage) (id, key string) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw), "s:" + string(raw)
	}
	if s, ok := v.(string); ok {
		return s, "s:" + s
	}
	s, _ := vartmpl.LuaString(v)
	return s, "n:" + s
}

// inlineSubset is the upstream set_upstream builds: only the plugin's
// subset of fields.
func inlineSubset(up map[string]json.RawMessage) []byte {
	kept := make(map[string]json.RawMessage, len(inlineFields))
	for _, f := range inlineFields {
		if v, ok := up[f]; ok {
			kept[f] = v
		}
	}
	b, _ := json.Marshal(kept)
	return b
}

// gcdMax is resty.roundrobin's get_gcd: the weights' gcd and maximum.
func gcdMax(es []entry) (g, m int) {
	g, m = es[0].weight, es[0].weight
	for _, e := range es[1:] {
		g = gcd(g, e.weight)
		m = max(m, e.weight)
	}
	return g, m
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Access implements plugin.Accessor: traffic-split.lua's access.
func (s *split) Access(c *reqctx.Ctx) reqctx.Result {
	if s.broken {
		return c.Exit(500, nil)
	}
	passed := true
	var chosen *rule
	for i := range s.rules {
		r := &s.rules[i]
		if r.missing != nil {
			return c.Exit(500, r.missing)
		}
		if !r.hasMatch {
			chosen = r
			break
		}
		for _, m := range r.match {
			if passed = m.Eval(c); passed {
				break
			}
		}
		if passed {
			chosen = r // (an empty match list keeps the last verdict, as in APISIX)
			break
		}
	}
	if chosen == nil {
		return reqctx.Continue
	}
	e := &chosen.entries[chosen.pick(c.Loop)]
	if e.fail != nil {
		return c.Exit(500, e.fail)
	}
	c.SetUpstream(e.up)
	return reqctx.Continue
}
