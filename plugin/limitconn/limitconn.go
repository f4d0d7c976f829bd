package limitconn

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "limit-conn"

var schema = fmt.Sprintf(`{
  "type": "object",
  "properties": {
    "conn": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
    "burst": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
    "default_conn_delay": {"type": "number", "exclusiveMinimum": 0},
    "only_use_default_delay": {"type": "boolean", "default": false},
    "key": {"type": "string"},
    "key_type": {"type": "string", "enum": ["var", "var_combination"], "default": "var"},
    "policy": {"type": "string", "enum": ["redis", "redis-cluster", "local"], "default": "local"},
    "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
    "rejected_msg": {"type": "string", "minLength": 1},
    "allow_degradation": {"type": "boolean", "default": false},
    "rules": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "conn": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
          "burst": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
          "key": {"type": "string"}
        },
        "required": ["conn", "burst", "key"]
      }
    }
  },
  "oneOf": [
    {"required": ["conn", "burst", "default_conn_delay", "key"]},
    {"required": ["default_conn_delay", "rules"]}
  ],
  "if": {"properties": {"policy": {"enum": ["redis"]}}},
  "then": %s,
  "else": {
    "if": {"properties": {"policy": {"enum": ["redis-cluster"]}}},
    "then": %s
  }
}`, ratelimit.RedisThen(true), ratelimit.RedisClusterThen(true))

func init() {
	plugin.Register(&plugin.Def{
		Name:          Name,
		Priority:      1003,
		Version:       "0.1",
		Schema:        schema,
		EncryptFields: []string{"redis_password"},
		New:           func(env *plugin.Env, conf []byte) (any, error) { return compile(env, conf, counters) },
	})
}

// counters is the process's local-policy state (APISIX's plugin-limit-conn
// shared dict).
var counters = NewCounters(DefaultMaxKeys)

type conf struct {
	Conn             json.RawMessage `json:"conn"`
	Burst            json.RawMessage `json:"burst"`
	DefaultConnDelay float64         `json:"default_conn_delay"`
	Key              string          `json:"key"`
	KeyType          string          `json:"key_type"`
	Policy           string          `json:"policy"`
	RejectedCode     int             `json:"rejected_code"`
	RejectedMsg      string          `json:"rejected_msg"`
	AllowDegradation bool            `json:"allow_degradation"`
	KeyTTL           int             `json:"key_ttl"` // Redis: seconds a member outlives a request whose log never ran
	ratelimit.RedisConf
	Rules []struct {
		Conn  json.RawMessage `json:"conn"`
		Burst json.RawMessage `json:"burst"`
		Key   string          `json:"key"`
	} `json:"rules"`
}

// limitConn is one compiled conf; immutable.
type limitConn struct {
	rules     []*rule
	fromRules bool
	prefix    []byte
	unitDelay time.Duration // default_conn_delay
	code      int
	body      []byte
	degrade   bool
	counters  *Counters

	policy  ratelimit.Policy
	redis   *ratelimit.Redis
	timeout time.Duration
	keyTTL  string
}

type rule struct {
	conn, burst ratelimit.Value
	key         ratelimit.RuleKey
}

var (
	_ plugin.Accessor = (*limitConn)(nil)
	_ plugin.Logger   = (*limitConn)(nil)
)

func compile(env *plugin.Env, raw []byte, counters *Counters) (*limitConn, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	policy, err := ratelimit.ParsePolicy(cf.Policy)
	if err != nil {
		return nil, err
	}
	owner := env.OwnerOf(Name) // the route's, or the service's, plugin config's, consumer group's it came from
	l := &limitConn{
		prefix:    ratelimit.Prefix(owner, false, "", raw),
		unitDelay: time.Duration(cf.DefaultConnDelay * float64(time.Second)),
		code:      cf.RejectedCode,
		body:      ratelimit.RejectBody(cf.RejectedMsg),
		degrade:   cf.AllowDegradation,
		counters:  counters,
		policy:    policy,
	}
	if l.code == 0 {
		l.code = 503
	}
	if policy != ratelimit.PolicyLocal {
		l.timeout = cf.CommandTimeout(policy)
		l.keyTTL = strconv.Itoa(cf.KeyTTL)
		if l.redis, err = ratelimit.SharedRedis(policy, &cf.RedisConf); err != nil {
			return nil, err
		}
	}
	if len(cf.Rules) > 0 {
		l.fromRules = true
		for _, rc := range cf.Rules {
			r := &rule{key: ratelimit.EntryKey(rc.Key)}
			if r.conn, err = parseValue(rc.Conn); err == nil {
				r.burst, err = parseValue(rc.Burst)
			}
			if err != nil {
				return nil, err
			}
			l.rules = append(l.rules, r)
		}
		return l, nil
	}
	kt, err := ratelimit.ParseKeyType(cf.KeyType)
	if err != nil {
		return nil, err
	}
	r := &rule{key: ratelimit.OwnKey(ratelimit.CompileKey(kt, cf.Key))}
	if r.conn, err = parseValue(cf.Conn); err == nil {
		r.burst, err = parseValue(cf.Burst)
	}
	if err != nil {
		return nil, err
	}
	l.rules = []*rule{r}
	return l, nil
}

func parseValue(raw json.RawMessage) (ratelimit.Value, error) {
	v, err := ratelimit.ParseValue(raw)
	if err != nil {
		return v, fmt.Errorf("limit-conn: conn and burst must be integers or strings: %w", err)
	}
	return v, nil
}

// connValue and burstValue read a resolved conn and burst as
// limit-conn/init.lua's resolve_var does: a positive (burst: non-negative)
// integer up to 2^53-1. Unlike limit-count's reading (luaNumber there),
// this one refuses hexadecimal ("0x10"); the two are kept apart so that
// neither plugin's accepted values change.
func connValue(b []byte) (int64, bool)  { return integerValue(b, false) }
func burstValue(b []byte) (int64, bool) { return integerValue(b, true) }

func integerValue(b []byte, allowZero bool) (int64, bool) {
	s := strings.TrimSpace(bytestr.String(b))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "xXnNiI_") || f < 0 || (f == 0 && !allowZero) || f != math.Floor(f) || f > 1<<53-1 {
		return 0, false
	}
	return int64(f), true
}

// record is what a request holds in flight, for its log phase to give
// back: the local counter keys it was counted under (back to back) and the
// Redis members it holds. One record per request, shared by every
// limit-conn conf that counted it (APISIX's ctx.limit_conn list, which the
// first log hook drains).
type record struct {
	counters *Counters
	keys     []byte
	ends     []int   // counted keys end here in keys
	pending  []int   // keys being resolved end here (Access only)
	limits   []int64 // conn, burst per pending key
	held     []held
	scratch  []byte
}

var recordKey = reqctx.NewLocalKey(func() any { return nil })

// freeRecords is a loop's free list of records.
var freeRecords = reqctx.NewLocalKey(func() any { return &recordList{} })

type recordList struct{ free []*record }

func acquireRecord(c *reqctx.Ctx) *record {
	if r, ok := c.Local(recordKey).(*record); ok && r != nil {
		return r
	}
	fl := c.Loop.Local(freeRecords).(*recordList)
	var r *record
	if n := len(fl.free); n > 0 {
		r = fl.free[n-1]
		fl.free = fl.free[:n-1]
	} else {
		r = &record{}
	}
	c.SetLocal(recordKey, r)
	return r
}

// Access counts the request in flight under each rule that applies; the
// first over conn+burst rejects it. Past conn, it waits default_conn_delay
// per conn already in flight beyond it.
func (l *limitConn) Access(c *reqctx.Ctx) reqctx.Result {
	rec := acquireRecord(c)
	start := len(rec.keys)
	rec.pending, rec.limits = rec.pending[:0], rec.limits[:0]
	for _, r := range l.rules {
		from := len(rec.keys)
		var applies bool
		if rec.keys, applies = r.key.Append(append(rec.keys, l.prefix...), c); !applies {
			rec.keys = rec.keys[:from]
			continue
		}
		conn, burst, ok := l.limits(c, r, rec)
		if !ok {
			rec.keys = rec.keys[:from]
			if l.fromRules {
				continue // a rules entry that does not resolve is skipped
			}
			return l.fail(c)
		}
		rec.pending = append(rec.pending, len(rec.keys))
		rec.limits = append(rec.limits, conn, burst)
	}
	if len(rec.pending) == 0 {
		return l.fail(c) // APISIX: "failed to get limit conn rules"
	}
	if l.policy != ratelimit.PolicyLocal {
		return l.parkRedis(c, rec, start, rec.limits)
	}
	rec.counters = l.counters
	var delay time.Duration
	from := start
	for i, end := range rec.pending {
		conn, burst := rec.limits[2*i], rec.limits[2*i+1]
		n, ok := l.counters.Incoming(rec.keys[from:end], conn+burst)
		if !ok {
			rec.keys, rec.pending = rec.keys[:from], rec.pending[:0]
			return c.Exit(l.code, l.body)
		}
		rec.ends = append(rec.ends, end)
		from = end
		if n > conn {
			delay += l.unitDelay * time.Duration((n-1)/conn)
		}
	}
	rec.pending = rec.pending[:0]
	return l.waitOrReject(c, delay)
}

// waitOrReject delays the request when it must wait (at least a
// millisecond, as APISIX), or rejects it when too many are waiting already.
func (l *limitConn) waitOrReject(c *reqctx.Ctx, delay time.Duration) reqctx.Result {
	if delay < time.Millisecond {
		return reqctx.Continue
	}
	if res, ok := ratelimit.Delay(c, delay); ok {
		return res
	}
	return c.Exit(l.code, l.body)
}

func (l *limitConn) limits(c *reqctx.Ctx, r *rule, rec *record) (conn, burst int64, ok bool) {
	if conn, rec.scratch, ok = r.conn.Resolve(c, rec.scratch, connValue); !ok {
		return 0, 0, false
	}
	burst, rec.scratch, ok = r.burst.Resolve(c, rec.scratch, burstValue)
	return conn, burst, ok
}

func (l *limitConn) fail(c *reqctx.Ctx) reqctx.Result {
	if l.degrade {
		return reqctx.Continue
	}
	return c.Exit(500, nil)
}

// Log gives back what the request holds in flight: every key any
// limit-conn conf counted it under, locally or on Redis. It runs for every
// request, whether it was proxied, rejected, or its client went away.
func (l *limitConn) Log(c *reqctx.Ctx) {
	rec, ok := c.Local(recordKey).(*record)
	if !ok || rec == nil {
		return
	}
	start := 0
	for _, end := range rec.ends {
		rec.counters.Leaving(rec.keys[start:end])
		start = end
	}
	for i := range rec.held {
		release(rec.held[i])
		rec.held[i] = held{}
	}
	rec.keys, rec.ends, rec.pending, rec.held, rec.counters = rec.keys[:0], rec.ends[:0], rec.pending[:0], rec.held[:0], nil
	c.SetLocal(recordKey, (*record)(nil))
	fl := c.Loop.Local(freeRecords).(*recordList)
	fl.free = append(fl.free, rec)
}
