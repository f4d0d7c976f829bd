package realip

import (
	"bytes"
	"net/netip"
	"strconv"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/ipset"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// schema is real-ip.lua's schema, as JSON.
const schema = `{
  "type": "object",
  "properties": {
    "trusted_addresses": {"type": "array", "items": ` + ipset.ItemSchema + `, "minItems": 1},
    "source": {"type": "string", "minLength": 1},
    "recursive": {"type": "boolean", "default": false}
  },
  "required": ["source"]
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:     "real-ip",
		Priority: 23000,
		Version:  "0.1",
		Schema:   schema,
		Check:    check,
		New:      newRealIP,
	})
}

type conf struct {
	TrustedAddresses []string `json:"trusted_addresses"`
	Source           string   `json:"source"`
	Recursive        bool     `json:"recursive"`
}

// realIP is a compiled conf. Immutable; shared by every loop.
type realIP struct {
	trusted   *ipset.Set // nil: any client may set its address
	xff       bool       // source is http_x_forwarded_for, read APISIX's way
	src       expr.Var
	recursive bool // and trusted is set (APISIX ignores recursive without it)
}

var _ plugin.Rewriter = (*realIP)(nil)

// check is check_schema beyond the schema: every trusted address must be
// an address or CIDR (the schema's IPv6 patterns let "::1/129" through).
func check(obj map[string]any, _ bool) error {
	return ipset.CheckItems(obj["trusted_addresses"])
}

func newRealIP(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	r := &realIP{xff: c.Source == "http_x_forwarded_for", src: expr.ParseVar(c.Source)}
	if c.TrustedAddresses != nil {
		set, err := ipset.Parse(c.TrustedAddresses)
		if err != nil {
			return nil, err
		}
		r.trusted = set
		r.recursive = c.Recursive
	}
	return r, nil
}

var nameXFF = []byte("X-Forwarded-For")

// Rewrite implements plugin.Rewriter: real-ip.lua's rewrite.
func (r *realIP) Rewrite(c *reqctx.Ctx) reqctx.Result {
	if r.trusted != nil && !r.trusted.Contains(c.RemoteAddr) {
		return reqctx.Continue
	}
	var addr []byte
	var ok bool
	if r.xff {
		addr, ok = r.fromXFF(c)
	} else {
		addr, ok = c.Value(&r.src)
	}
	if !ok {
		return reqctx.Continue // "missing real address"
	}
	ip, port, ok := parseAddr(addr)
	if !ok {
		return reqctx.Continue // "bad address" or "bad port"
	}
	c.SetRealRemote(ip, port)
	return reqctx.Continue
}

// fromXFF is real-ip.lua's get_addr for http_x_forwarded_for.
func (r *realIP) fromXFF(c *reqctx.Ctx) ([]byte, bool) {
	v, ok := lastXFF(c)
	if !ok {
		return nil, false
	}
	comma := bytes.LastIndexByte(v, ',')
	if comma < 0 {
		return v, true
	}
	if r.recursive {
		// ngx_re_split(addrs, ",\s*"), then from the right the first
		// address that is not trusted; the leftmost when all are.
		end := len(v)
		for {
			i := bytes.LastIndexByte(v[:end], ',')
			if i < 0 {
				return v[:end], true
			}
			elem := trimLeftSpace(v[i+1 : end])
			if a, ok := ipset.ParseAddr(elem); !ok || !r.trusted.Contains(a) {
				return elem, true
			}
			end = i
		}
	}
	rest := v[comma+1:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return rest, true
}

// lastXFF returns the last X-Forwarded-For field as the request stands
// (core.request.headers(ctx)["X-Forwarded-For"], the last of several).
func lastXFF(c *reqctx.Ctx) ([]byte, bool) {
	if c.ReqEdited(nameXFF) {
		return c.Header("X-Forwarded-For")
	}
	var v []byte
	found := false
	for i := range c.Req.Headers {
		if h := &c.Req.Headers[i]; expr.HeaderNameMatches(h.Name.Of(c.Head), "x_forwarded_for") {
			v, found = h.Value.Of(c.Head), true
		}
	}
	return v, found
}

// trimLeftSpace drops what PCRE's \s matches.
func trimLeftSpace(b []byte) []byte {
	for len(b) > 0 {
		switch b[0] {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			b = b[1:]
			continue
		}
		break
	}
	return b
}

// parseAddr is core.utils.parse_addr followed by real-ip.lua's checks: the
// host must be an IPv4 or IPv6 address (brackets allowed around IPv6), and
// a port, if any, in 1-65535. port is 0 when addr has none.
func parseAddr(addr []byte) (ip netip.Addr, port int, ok bool) {
	host, portText, hasPort := splitAddr(addr)
	bracketed := len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']'
	if bracketed {
		host = host[1 : len(host)-1]
	}
	ip, ok = ipset.ParseAddr(host)
	if !ok || (bracketed && !ip.Is6()) {
		return netip.Addr{}, 0, false
	}
	if hasPort {
		if p, isNum := luaNumber(portText); isNum {
			if p < 1 || p > 65535 {
				return netip.Addr{}, 0, false
			}
			port = int(p)
		}
	}
	return ip, port, true
}

// splitAddr is core.utils.parse_addr: host and port text (hasPort false
// when there is no port part). Like the Lua, it does not validate.
func splitAddr(addr []byte) (host, port []byte, hasPort bool) {
	if len(addr) > 0 && addr[0] == '[' {
		if addr[len(addr)-1] == ']' {
			return addr, nil, false
		}
		pos := bytes.LastIndexByte(addr[:len(addr)-1], ':')
		if pos <= 0 || addr[pos-1] != ']' {
			return addr, nil, false // malformed
		}
		return addr[:pos], addr[pos+1:], true
	}
	colons := 0
	for _, b := range addr {
		if b == '.' {
			break
		}
		if b == ':' {
			if colons++; colons == 2 {
				return addr, nil, false // IPv6 without brackets
			}
		}
	}
	if len(addr) == 0 {
		return addr, nil, false
	}
	pos := bytes.LastIndexByte(addr[:len(addr)-1], ':')
	if pos < 0 {
		return addr, nil, false
	}
	return addr[:pos], addr[pos+1:], true
}

// luaNumber reads b as Lua's tonumber reads a string: surrounding
// whitespace, a decimal number (sign, fraction, exponent) or a 0x hex
// integer; ok is false where tonumber gives nil.
func luaNumber(b []byte) (float64, bool) {
	b = bytes.TrimSpace(b)
	body, neg := b, false
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		neg, body = body[0] == '-', body[1:]
	}
	if len(body) > 2 && body[0] == '0' && (body[1]|0x20) == 'x' {
		u, err := strconv.ParseUint(bytestr.String(body[2:]), 16, 64)
		if err != nil {
			return 0, false
		}
		if neg {
			return -float64(u), true
		}
		return float64(u), true
	}
	if len(body) == 0 {
		return 0, false
	}
	for _, c := range body {
		if !('0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+') {
			return 0, false // rules out inf, nan, underscores and hex floats
		}
	}
	f, err := strconv.ParseFloat(bytestr.String(b), 64)
	return f, err == nil
}
