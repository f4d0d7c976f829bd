package consumerrestriction

import (
	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/cjson"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "consumer-restriction"

// schema is APISIX 3.18's consumer-restriction schema
// (apisix/plugins/consumer-restriction.lua; the methods are
// schema_def.method_schema).
const schema = `{
  "type": "object",
  "properties": {
    "type": {
      "type": "string",
      "enum": ["consumer_name", "service_id", "route_id", "consumer_group_id"],
      "default": "consumer_name"
    },
    "blacklist": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "whitelist": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "allowed_by_methods": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "user": {"type": "string"},
          "methods": {
            "type": "array",
            "minItems": 1,
            "items": {
              "description": "HTTP method",
              "type": "string",
              "enum": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"]
            }
          }
        }
      }
    },
    "rejected_code": {"type": "integer", "minimum": 200, "default": 403},
    "rejected_msg": {"type": "string"}
  },
  "anyOf": [
    {"required": ["blacklist"]},
    {"required": ["whitelist"]},
    {"required": ["allowed_by_methods"]}
  ]
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:     Name,
		Priority: 2400,
		Version:  "0.1",
		Schema:   schema,
		New:      newRestriction,
	})
}

// kind is what a conf restricts on (its "type").
type kind uint8

const (
	byConsumerName kind = iota
	byServiceID
	byRouteID
	byConsumerGroupID
)

var kinds = map[string]kind{
	"consumer_name": byConsumerName, "service_id": byServiceID,
	"route_id": byRouteID, "consumer_group_id": byConsumerGroupID,
}

type conf struct {
	Type             string   `json:"type"`
	Blacklist        []string `json:"blacklist"`
	Whitelist        []string `json:"whitelist"`
	AllowedByMethods []struct {
		User    *string  `json:"user"`
		Methods []string `json:"methods"`
	} `json:"allowed_by_methods"`
	RejectedCode int     `json:"rejected_code"`
	RejectedMsg  *string `json:"rejected_msg"`
}

// methodRule is one allowed_by_methods entry; a rule without a user
// matches no request.
type methodRule struct {
	user    string
	hasUser bool
	methods []string
}

// restriction is a compiled conf. Immutable.
type restriction struct {
	kind      kind
	blacklist []string
	whitelist []string
	byMethods []methodRule
	code      int
	rejected  []byte // {"message": rejected_msg or "The <type> is forbidden."}
	missing   []byte // {"message":"The request is rejected, please check the <type> for this request"}
}

var _ plugin.Accessor = (*restriction)(nil)

func newRestriction(_ *plugin.Env, raw []byte) (any, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	r := &restriction{
		kind:      kinds[cf.Type],
		blacklist: cf.Blacklist,
		whitelist: cf.Whitelist,
		code:      cf.RejectedCode,
		missing:   cjson.Exit("message", "The request is rejected, please check the "+cf.Type+" for this request"),
	}
	if cf.RejectedMsg != nil {
		r.rejected = cjson.Exit("message", *cf.RejectedMsg)
	} else {
		r.rejected = cjson.Exit("message", "The "+cf.Type+" is forbidden.")
	}
	for _, m := range cf.AllowedByMethods {
		rule := methodRule{methods: m.Methods}
		if m.User != nil {
			rule.user, rule.hasUser = *m.User, true
		}
		r.byMethods = append(r.byMethods, rule)
	}
	return r, nil
}

// value is the request's value of the conf's type, or false when it has
// none (no consumer, or a route without a service).
func (r *restriction) value(c *reqctx.Ctx) (string, bool) {
	switch r.kind {
	case byRouteID:
		return c.RouteID, c.RouteID != ""
	case byServiceID:
		return c.ServiceID, c.ServiceID != ""
	case byConsumerGroupID:
		if c.Consumer == nil {
			return "", false
		}
		return c.Consumer.GroupID, c.Consumer.GroupID != ""
	}
	if c.Consumer == nil {
		return "", false
	}
	return c.Consumer.Name, true
}

// Access applies the lists (apisix/plugins/consumer-restriction.lua
// access): the blacklist first, then the whitelist, then
// allowed_by_methods for what the whitelist did not admit.
func (r *restriction) Access(c *reqctx.Ctx) reqctx.Result {
	v, ok := r.value(c)
	if !ok {
		return c.Exit(401, r.missing)
	}
	if contains(r.blacklist, v) {
		return c.Exit(r.code, r.rejected)
	}
	block, whitelisted := false, false
	if len(r.whitelist) > 0 {
		whitelisted = contains(r.whitelist, v)
		block = !whitelisted
	}
	if len(r.byMethods) > 0 && !whitelisted && !r.methodAllowed(c.Method(), v) {
		block = true
	}
	if block {
		return c.Exit(r.code, r.rejected)
	}
	return reqctx.Continue
}

// methodAllowed is APISIX's is_method_allowed: the first rule for the
// user decides; a user without a rule may use any method.
func (r *restriction) methodAllowed(method []byte, user string) bool {
	for _, rule := range r.byMethods {
		if !rule.hasUser || rule.user != user {
			continue
		}
		for _, m := range rule.methods {
			if m == bytestr.String(method) {
				return true
			}
		}
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
