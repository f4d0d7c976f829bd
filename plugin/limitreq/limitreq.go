package limitreq

import (
	"fmt"
	"math"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "limit-req"

var schema = fmt.Sprintf(`{
  "type": "object",
  "properties": {
    "rate": {"type": "number", "exclusiveMinimum": 0},
    "burst": {"type": "number", "minimum": 0},
    "key": {"type": "string"},
    "key_type": {"type": "string", "enum": ["var", "var_combination"], "default": "var"},
    "policy": {"type": "string", "enum": ["redis", "redis-cluster", "local"], "default": "local"},
    "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
    "rejected_msg": {"type": "string", "minLength": 1},
    "nodelay": {"type": "boolean", "default": false},
    "allow_degradation": {"type": "boolean", "default": false}
  },
  "required": ["rate", "burst", "key"],
  "if": {"properties": {"policy": {"enum": ["redis"]}}},
  "then": %s,
  "else": {
    "if": {"properties": {"policy": {"enum": ["redis-cluster"]}}},
    "then": %s
  }
}`, ratelimit.RedisThen(false), ratelimit.RedisClusterThen(false))

func init() {
	plugin.Register(&plugin.Def{
		Name:          Name,
		Priority:      1001,
		Version:       "0.1",
		Schema:        schema,
		EncryptFields: []string{"redis_password"},
		New:           func(env *plugin.Env, conf []byte) (any, error) { return compile(env, conf, buckets) },
	})
}

// buckets is the process's local-policy state (APISIX's plugin-limit-req
// shared dict).
var buckets = NewBuckets(DefaultMaxKeys, nil)

type conf struct {
	Rate             float64 `json:"rate"`
	Burst            float64 `json:"burst"`
	Key              string  `json:"key"`
	KeyType          string  `json:"key_type"`
	Policy           string  `json:"policy"`
	RejectedCode     int     `json:"rejected_code"`
	RejectedMsg      string  `json:"rejected_msg"`
	NoDelay          bool    `json:"nodelay"`
	AllowDegradation bool    `json:"allow_degradation"`
	ratelimit.RedisConf
}

// limitReq is one compiled conf; immutable.
type limitReq struct {
	rate, burst float64 // thousandths, as resty.limit.req keeps them
	key         ratelimit.Key
	prefix      []byte
	code        int
	body        []byte
	nodelay     bool
	degrade     bool
	buckets     *Buckets

	policy  ratelimit.Policy
	redis   *ratelimit.Redis
	timeout time.Duration
	args    [2]string // rate and burst for the script
	ttl     string    // seconds the state outlives a request
}

var _ plugin.Accessor = (*limitReq)(nil)

func compile(env *plugin.Env, raw []byte, b *Buckets) (*limitReq, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	kt, err := ratelimit.ParseKeyType(cf.KeyType)
	if err != nil {
		return nil, err
	}
	owner := env.OwnerOf(Name) // the route's, or the service's, plugin config's, consumer group's it came from
	p := &limitReq{
		rate:    cf.Rate * 1000,
		burst:   cf.Burst * 1000,
		key:     ratelimit.CompileKey(kt, cf.Key),
		prefix:  ratelimit.Prefix(owner, false, "", raw),
		code:    cf.RejectedCode,
		body:    ratelimit.RejectBody(cf.RejectedMsg),
		nodelay: cf.NoDelay,
		degrade: cf.AllowDegradation,
		buckets: b,
	}
	if p.rate <= 0 {
		return nil, fmt.Errorf("limit-req: rate must be positive")
	}
	if p.code == 0 {
		p.code = 503
	}
	if p.policy, err = ratelimit.ParsePolicy(cf.Policy); err != nil {
		return nil, err
	}
	if p.policy != ratelimit.PolicyLocal {
		p.timeout = cf.CommandTimeout(p.policy)
		if p.redis, err = ratelimit.SharedRedis(p.policy, &cf.RedisConf); err != nil {
			return nil, err
		}
		p.args = [2]string{luaNum(p.rate), luaNum(p.burst)}
		p.ttl = strconv.FormatInt(int64(math.Ceil(p.burst/p.rate))+1, 10)
	}
	return p, nil
}

func luaNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// keyBuf is a loop's buffer for counter keys.
var keyBuf = reqctx.NewLocalKey(func() any { b := make([]byte, 0, 256); return &b })

// Access lets the request through, delays it (burst), or rejects it.
func (p *limitReq) Access(c *reqctx.Ctx) reqctx.Result {
	buf := c.Loop.Local(keyBuf).(*[]byte)
	key := p.key.Append(append((*buf)[:0], p.prefix...), c)
	*buf = key
	if p.policy != ratelimit.PolicyLocal {
		j := jobPool.Get().(*reqJob)
		j.p, j.key = p, redisKeyPrefix+string(key)
		return c.Park(j)
	}
	delay, ok := p.buckets.Incoming(key, p.rate, p.burst)
	if !ok {
		return c.Exit(p.code, p.body)
	}
	return p.wait(c, delay, key)
}

// wait delays the request when the bucket says so (and nodelay is off):
// APISIX sleeps when the delay is at least a millisecond. When too many
// requests are waiting already it is rejected instead, and its place in
// the bucket given back (local policy: uncommitKey non-nil).
func (p *limitReq) wait(c *reqctx.Ctx, delay time.Duration, uncommitKey []byte) reqctx.Result {
	if delay < time.Millisecond || p.nodelay {
		return reqctx.Continue
	}
	if res, ok := ratelimit.Delay(c, delay); ok {
		return res
	}
	if uncommitKey != nil {
		p.buckets.Uncommit(uncommitKey)
	}
	return c.Exit(p.code, p.body)
}

// redisKeyPrefix is limit-req/util.lua's state key prefix.
const redisKeyPrefix = "limit_req:"

// commitScript is APISIX's limit-req Redis script (limit-req/util.lua,
// Apache-2.0): the bucket's decay and the new request in one atomic step,
// in one hash so it is slot-safe on a cluster.
var commitScript = rueidis.NewLuaScript(`local state_key  = KEYS[1]
local rate       = tonumber(ARGV[1])
local burst      = tonumber(ARGV[2])
local now        = tonumber(ARGV[3])
local ttl        = tonumber(ARGV[4])

local state = redis.call('hmget', state_key, 'excess', 'last')
local excess_raw = state[1]
local last_raw   = state[2]

local excess
if excess_raw and last_raw then
    local elapsed = now - tonumber(last_raw)
    excess = math.max(tonumber(excess_raw) - rate * math.abs(elapsed) / 1000 + 1000, 0)

    if excess > burst then
        return {0, tostring(excess)}
    end
else
    excess = 0
end

redis.call('hset', state_key, 'excess', excess, 'last', now)
redis.call('expire', state_key, ttl)
return {1, tostring(excess)}`)

// reqJob is one request's trip to Redis.
type reqJob struct {
	p       *limitReq
	key     string
	keys    [1]string
	args    [4]string
	allowed bool
	excess  float64
	err     error
}

var jobPool = stdsync.Pool{New: func() any { return new(reqJob) }}

// Run runs the script on a worker goroutine. now is wall-clock milliseconds:
// every node sharing the Redis must agree on it.
func (j *reqJob) Run() {
	p := j.p
	j.keys[0] = j.key
	j.args = [4]string{p.args[0], p.args[1], strconv.FormatInt(time.Now().UnixMilli(), 10), p.ttl}
	res, err := p.redis.Exec(commitScript, p.timeout, j.keys[:], j.args[:])
	if err == nil {
		var arr []rueidis.RedisMessage
		if arr, err = res.ToArray(); err == nil && len(arr) == 2 {
			var allowed int64
			var excess string
			if allowed, err = arr[0].ToInt64(); err == nil {
				if excess, err = arr[1].ToString(); err == nil {
					j.allowed = allowed == 1
					j.excess, err = strconv.ParseFloat(excess, 64)
				}
			}
		} else if err == nil {
			err = fmt.Errorf("limit-req: unexpected reply from redis")
		}
	}
	j.err = err
}

// Resume applies the result on the loop.
func (j *reqJob) Resume(c *reqctx.Ctx) reqctx.Result {
	p, allowed, excess, err := j.p, j.allowed, j.excess, j.err
	*j = reqJob{}
	jobPool.Put(j)
	if c == nil {
		return reqctx.Stop
	}
	switch {
	case err != nil:
		// APISIX: "failed to limit req".
		if p.degrade {
			return reqctx.Continue
		}
		return c.Exit(500, nil)
	case !allowed:
		return c.Exit(p.code, p.body)
	}
	return p.wait(c, time.Duration(excess/p.rate*float64(time.Second)), nil)
}

var _ reqctx.Job = (*reqJob)(nil)
