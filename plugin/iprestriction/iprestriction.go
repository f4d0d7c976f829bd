package iprestriction

import (
	"github.com/sluicegw/sluice/internal/cjson"
	"github.com/sluicegw/sluice/internal/ipset"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// schema is ip-restriction/init.lua's schema, as JSON.
const schema = `{
  "type": "object",
  "properties": {
    "message": {"type": "string", "minLength": 1, "maxLength": 1024, "default": "Your IP address is not allowed"},
    "response_code": {"type": "integer", "minimum": 403, "maximum": 404, "default": 403},
    "whitelist": {"type": "array", "items": ` + ipset.ItemSchema + `, "minItems": 1},
    "blacklist": {"type": "array", "items": ` + ipset.ItemSchema + `, "minItems": 1}
  },
  "oneOf": [
    {"required": ["whitelist"]},
    {"required": ["blacklist"]}
  ]
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:     "ip-restriction",
		Priority: 3000,
		Version:  "0.1",
		Schema:   schema,
		Check:    check,
		New:      newRestriction,
	})
}

type conf struct {
	Message      string   `json:"message"`
	ResponseCode int      `json:"response_code"`
	Whitelist    []string `json:"whitelist"`
	Blacklist    []string `json:"blacklist"`
}

// restriction is a compiled conf. Immutable; shared by every loop.
type restriction struct {
	set   *ipset.Set
	white bool // set is a whitelist: block what it does not contain
	code  int
	body  []byte // {"message":"..."}\n
}

var _ plugin.Accessor = (*restriction)(nil)

// check is check_schema beyond the schema: each entry must be an address
// or CIDR ("::1/129" passes the schema's IPv6/CIDR pattern).
func check(obj map[string]any, _ bool) error {
	for _, field := range []string{"whitelist", "blacklist"} {
		if err := ipset.CheckItems(obj[field]); err != nil {
			return err
		}
	}
	return nil
}

func newRestriction(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	r := &restriction{code: c.ResponseCode, body: cjson.Exit("message", c.Message)}
	if r.code == 0 {
		r.code = 403
	}
	list := c.Blacklist
	if c.Whitelist != nil {
		list, r.white = c.Whitelist, true
	}
	set, err := ipset.Parse(list)
	if err != nil {
		return nil, err
	}
	r.set = set
	return r, nil
}

// Access implements plugin.Accessor: ip-restriction's restrict.
func (r *restriction) Access(c *reqctx.Ctx) reqctx.Result {
	if r.set.Contains(c.RemoteAddr) != r.white {
		return c.Exit(r.code, r.body)
	}
	return reqctx.Continue
}
