package limitcount

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// maxRules bounds the rules one request resolves without growing its
// loop's scratch (more are handled, at the cost of a grown array once).
const maxRules = 8

// scratch is a loop's working memory for limit-count: keys and numbers are
// rendered here, so a request allocates nothing.
type scratch struct {
	keys []byte     // the applying rules' counter keys, back to back
	num  []byte     // a formatted header value, a rendered template
	res  []resolved // per rule of the request
}

// resolved is one rule as it applies to one request.
type resolved struct {
	r              *rule
	limit          int64
	window         time.Duration
	keyOff, keyEnd int // in scratch.keys
}

var scratchKey = reqctx.NewLocalKey(func() any {
	return &scratch{keys: make([]byte, 0, 256), num: make([]byte, 0, 32), res: make([]resolved, 0, maxRules)}
})

// Access counts the request against each rule that applies to it; the
// first rule over its limit rejects it. Headers tell the quota left.
func (p *limitCount) Access(c *reqctx.Ctx) reqctx.Result {
	sc := c.Loop.Local(scratchKey).(*scratch)
	if !p.resolve(c, sc) {
		// APISIX: "failed to get rate limit rules".
		if p.degrade {
			return reqctx.Continue
		}
		return c.Exit(500, nil)
	}
	if p.policy != ratelimit.PolicyLocal {
		return p.parkRedis(c, sc)
	}
	names := headerNamesOf(c)
	for i := range sc.res {
		rs := &sc.res[i]
		var remaining int64
		var reset time.Duration
		var ok bool
		if p.sliding {
			remaining, reset, ok = p.slidingLocal(sc, sc.keys[rs.keyOff:rs.keyEnd], rs.limit, rs.window)
		} else {
			remaining, reset, ok = p.store.Incoming(sc.keys[rs.keyOff:rs.keyEnd], rs.limit, 1, rs.window)
		}
		if p.show {
			p.setHeaders(c, sc, rs.r.namesFor(names), rs.limit, remaining, reset)
		}
		if !ok {
			return c.Exit(p.code, p.body)
		}
	}
	return reqctx.Continue
}

// resolve fills sc.res with the rules that apply to c: their counter keys,
// limits and windows. It reports false when a value does not resolve to a
// positive integer or no rule applies (APISIX answers 500 then).
func (p *limitCount) resolve(c *reqctx.Ctx, sc *scratch) bool {
	sc.keys, sc.res = sc.keys[:0], sc.res[:0]
	for _, r := range p.rules {
		off := len(sc.keys)
		var ok bool
		if sc.keys, ok = r.key.Append(append(sc.keys, p.prefix...), c); !ok {
			sc.keys = sc.keys[:off] // a rule keyed on absent vars does not apply
			continue
		}
		rs := resolved{r: r, keyOff: off, keyEnd: len(sc.keys)}
		if rs.limit, sc.num, ok = r.count.Resolve(c, sc.num, positiveInteger); !ok {
			return false
		}
		var w int64
		if w, sc.num, ok = r.window.Resolve(c, sc.num, positiveInteger); !ok {
			return false
		}
		rs.window = time.Duration(w) * time.Second
		sc.res = append(sc.res, rs)
	}
	return len(sc.res) > 0
}

// setHeaders sets the quota headers: limit, remaining and the seconds
// until the window resets, floored to hundredths (APISIX's
// math_floor(reset * 100) / 100, printed as Lua prints numbers).
func (p *limitCount) setHeaders(c *reqctx.Ctx, sc *scratch, n *headerNames, limit, remaining int64, reset time.Duration) {
	sc.num = strconv.AppendInt(sc.num[:0], limit, 10)
	c.SetRespHeader(n.limit, sc.num)
	sc.num = strconv.AppendInt(sc.num[:0], remaining, 10)
	c.SetRespHeader(n.remaining, sc.num)
	sc.num = appendReset(sc.num[:0], reset)
	c.SetRespHeader(n.reset, sc.num)
}

// appendReset writes d in seconds, floored to hundredths, without trailing
// zeros ("60", "59.9", "59.95").
func appendReset(dst []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	h := int64(math.Floor(d.Seconds() * 100))
	dst = strconv.AppendInt(dst, h/100, 10)
	if frac := h % 100; frac != 0 {
		dst = append(dst, '.', byte('0'+frac/10))
		if frac%10 != 0 {
			dst = append(dst, byte('0'+frac%10))
		}
	}
	return dst
}

// headerNames are the quota header names: plugin_metadata's, or APISIX's
// defaults.
type headerNames struct {
	limit, remaining, reset string
}

var defaultNames = &headerNames{limit: "X-RateLimit-Limit", remaining: "X-RateLimit-Remaining", reset: "X-RateLimit-Reset"}

func newMetadata(raw []byte) (any, error) {
	var m struct {
		Limit     string `json:"limit_header"`
		Remaining string `json:"remaining_header"`
		Reset     string `json:"reset_header"`
	}
	if err := plugin.Decode(raw, &m); err != nil {
		return nil, err
	}
	return &headerNames{limit: m.Limit, remaining: m.Remaining, reset: m.Reset}, nil
}

func headerNamesOf(c *reqctx.Ctx) *headerNames {
	if c.Config != nil {
		if n, ok := c.Config.Metadata(Name).(*headerNames); ok && n != nil {
			return n
		}
	}
	return defaultNames
}

// prefixedNames caches a rules entry's header names for one metadata.
type prefixedNames struct {
	from  *headerNames
	names headerNames
}

// namesFor returns the rule's header names given the metadata's: the
// metadata's for the conf's own limit; for a rules entry, "RateLimit-" in
// each becomes "<header_prefix>-RateLimit-" (X-RateLimit-Limit ->
// X-1-RateLimit-Limit). Built once per metadata version.
func (r *rule) namesFor(n *headerNames) *headerNames {
	if r.headerPrefix == "" {
		return n
	}
	if pn := r.names.Load(); pn != nil && pn.from == n {
		return &pn.names
	}
	pn := &prefixedNames{from: n, names: headerNames{
		limit:     withPrefix(n.limit, r.headerPrefix),
		remaining: withPrefix(n.remaining, r.headerPrefix),
		reset:     withPrefix(n.reset, r.headerPrefix),
	}}
	r.names.Store(pn)
	return &pn.names
}

func withPrefix(name, prefix string) string {
	return strings.Replace(name, "RateLimit-", prefix+"-RateLimit-", 1)
}
