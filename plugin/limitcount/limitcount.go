package limitcount

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "limit-count"

func init() {
	plugin.Register(&plugin.Def{
		Name:           Name,
		Priority:       1002,
		Version:        "0.5",
		Schema:         schema,
		MetadataSchema: metadataSchema,
		EncryptFields:  []string{"redis_password", "sentinel_password"},
		Check:          check,
		SchemaError:    schemaError,
		New:            func(env *plugin.Env, conf []byte) (any, error) { return compile(env, conf, counters) },
		NewMetadata:    newMetadata,
	})
}

// counters is the process's local-policy store (APISIX's plugin-limit-count
// shared dict): every instance of every conf counts here, keyed so that an
// unchanged conf recompiled keeps its windows.
var counters = NewStore(DefaultMaxKeys, nil)

// conf is the plugin's conf as APISIX defines it, defaults filled in.
type conf struct {
	Count                json.RawMessage `json:"count"`
	TimeWindow           json.RawMessage `json:"time_window"`
	WindowType           string          `json:"window_type"`
	Rules                []ruleConf      `json:"rules"`
	Group                *string         `json:"group"`
	Key                  string          `json:"key"`
	KeyType              string          `json:"key_type"`
	RejectedCode         int             `json:"rejected_code"`
	RejectedMsg          string          `json:"rejected_msg"`
	Policy               string          `json:"policy"`
	AllowDegradation     bool            `json:"allow_degradation"`
	ShowLimitQuotaHeader bool            `json:"show_limit_quota_header"`
	SyncInterval         float64         `json:"sync_interval"`
	ratelimit.RedisConf
}

type ruleConf struct {
	Count        json.RawMessage `json:"count"`
	TimeWindow   json.RawMessage `json:"time_window"`
	Key          string          `json:"key"`
	HeaderPrefix *string         `json:"header_prefix"`
}

// limitCount is one compiled conf. Immutable (the header-name caches are
// atomic), shared by every loop.
type limitCount struct {
	rules   []*rule
	prefix  []byte // counter keys start with it (ratelimit.Prefix)
	code    int
	body    []byte // nil: the gateway's error page
	show    bool
	degrade bool

	sliding bool             // window_type sliding
	wall    func() time.Time // the clock sliding windows align on

	policy  ratelimit.Policy
	store   *Store
	redis   *ratelimit.Redis
	rprefix string // Redis keys start with it: "plugin-limit-count:v1:" + prefix
	timeout time.Duration
}

// rule is one limit: the conf's own count/time_window/key, or one of rules.
type rule struct {
	count, window ratelimit.Value
	key           ratelimit.RuleKey
	headerPrefix  string // rules: "" leaves the names alone
	names         atomic.Pointer[prefixedNames]
}

var _ plugin.Accessor = (*limitCount)(nil)

// redisKeyPrefix is APISIX's plugin_name .. ":" .. KEY_VERSION .. ":".
const redisKeyPrefix = "plugin-limit-count:v1:"

func compile(env *plugin.Env, raw []byte, store *Store) (*limitCount, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	p := &limitCount{
		code:    cf.RejectedCode,
		body:    ratelimit.RejectBody(cf.RejectedMsg),
		show:    cf.ShowLimitQuotaHeader,
		degrade: cf.AllowDegradation,
		store:   store,
		sliding: cf.WindowType == "sliding",
		wall:    time.Now,
	}
	if p.code == 0 {
		p.code = 503
	}
	var err error
	if p.policy, err = ratelimit.ParsePolicy(cf.Policy); err != nil {
		return nil, err
	}
	group := ""
	if cf.Group != nil {
		group = *cf.Group
	}
	owner := env.OwnerOf(Name) // the route's, or the service's, plugin config's, consumer group's it came from
	p.prefix = ratelimit.Prefix(owner, cf.Group != nil, group, raw)
	p.rprefix = redisKeyPrefix + string(p.prefix)
	if p.sliding {
		p.rprefix = slidingRedisKeyPrefix + string(p.prefix)
	}
	if len(cf.Rules) > 0 {
		for i, rc := range cf.Rules {
			r := &rule{key: ratelimit.EntryKey(rc.Key), headerPrefix: strconv.Itoa(i + 1)}
			if rc.HeaderPrefix != nil {
				r.headerPrefix = *rc.HeaderPrefix
			}
			if r.count, err = parseValue(rc.Count); err == nil {
				r.window, err = parseValue(rc.TimeWindow)
			}
			if err != nil {
				return nil, err
			}
			p.rules = append(p.rules, r)
		}
	} else {
		kt, err := ratelimit.ParseKeyType(cf.KeyType)
		if err != nil {
			return nil, err
		}
		r := &rule{key: ratelimit.OwnKey(ratelimit.CompileKey(kt, cf.Key))}
		if r.count, err = parseValue(cf.Count); err == nil {
			r.window, err = parseValue(cf.TimeWindow)
		}
		if err != nil {
			return nil, err
		}
		p.rules = []*rule{r}
	}
	if p.policy != ratelimit.PolicyLocal {
		p.timeout = cf.CommandTimeout(p.policy)
		if p.redis, err = ratelimit.SharedRedis(p.policy, &cf.RedisConf); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func parseValue(raw json.RawMessage) (ratelimit.Value, error) {
	v, err := ratelimit.ParseValue(raw)
	if err != nil {
		return v, fmt.Errorf("limit-count: count and time_window must be integers or strings: %w", err)
	}
	return v, nil
}

// maxSafeInteger is 2^53-1: APISIX refuses resolved values a Lua number
// cannot hold exactly.
const maxSafeInteger = 1<<53 - 1

// positiveInteger reads a resolved count or time_window as resolve_var in
// limit-count/init.lua does: a positive integer, else an error.
func positiveInteger(b []byte) (int64, bool) {
	f, ok := luaNumber(b)
	if !ok || f <= 0 || f != math.Floor(f) || f > maxSafeInteger {
		return 0, false
	}
	return int64(f), true
}

// luaNumber parses b as Lua's tonumber does for the values that matter
// here: decimal (with fraction and exponent) or 0x hexadecimal, surrounded
// by blanks. real-ip's luaNumber also reads a signed hexadecimal ("+0x10"
// is 16 there); this one refuses it, so the two are not merged without
// changing which values limit-count accepts.
func luaNumber(b []byte) (float64, bool) {
	s := strings.TrimSpace(bytestr.String(b))
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXnNiI_") {
		return f, true
	}
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		if n, err := strconv.ParseUint(h, 16, 64); err == nil {
			return float64(n), true
		}
	}
	return 0, false
}
