package limitcount

import (
	"errors"
	"fmt"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// commitScript is APISIX's fixed-window script (limit-count/util.lua,
// Apache-2.0): the first request of a window sets the counter with the
// window as its expiry, later ones increment it; it answers the count
// consumed and the milliseconds left. Rejected requests are counted too.
// Keeping APISIX's script and key layout ("plugin-limit-count:v1:<key>")
// means sluice and APISIX nodes sharing a Redis share a group's counters.
var commitScript = rueidis.NewLuaScript(`assert(tonumber(ARGV[3]) >= 0, "cost must be at least 0")
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then
    redis.call('set', KEYS[1], ARGV[3], 'EX', ARGV[2])
    return {ARGV[3], ARGV[2] * 1000}
end
return {redis.call('incrby', KEYS[1], ARGV[3]), ttl}`)

// errBadReply: Redis answered the script with something it never returns.
var errBadReply = errors.New("limit-count: unexpected reply from redis")

// failedBody is APISIX's answer when the counter could not be reached.
var failedBody = []byte(`{"error_msg":"failed to limit count"}` + "\n")

// countJob is one request's trip to Redis: each applying rule's script
// call, in order, until one rejects (or fails, unless degrading). It is
// shaped like limit-conn's connJob but kept apart: what a result holds and
// how Resume answers differ (quota headers, sliding windows, a cluster
// client that could not be made, here; members the log phase must release,
// there).
type countJob struct {
	p     *limitCount
	items []jobItem
	keys  [1]string
	args  [3]string
}

type jobItem struct {
	r         *rule
	key       string
	limit     int64
	window    time.Duration
	consumed  int64
	ttl       time.Duration
	sliding   bool  // a sliding window's result: remaining and accepted hold it
	remaining int64 // sliding
	accepted  bool  // sliding
	err       error
	noClient  bool // the cluster client could not be created (APISIX: no limit object)
	processed bool
}

var jobPool = stdsync.Pool{New: func() any { return new(countJob) }}

// parkRedis hands the request's counting to a worker.
func (p *limitCount) parkRedis(c *reqctx.Ctx, sc *scratch) reqctx.Result {
	j := jobPool.Get().(*countJob)
	j.p = p
	j.items = j.items[:0]
	for i := range sc.res {
		rs := &sc.res[i]
		j.items = append(j.items, jobItem{
			r:      rs.r,
			key:    p.rprefix + string(sc.keys[rs.keyOff+len(p.prefix):rs.keyEnd]),
			limit:  rs.limit,
			window: rs.window,
		})
	}
	return c.Park(j)
}

// Run runs the scripts on a worker goroutine.
func (j *countJob) Run() {
	p := j.p
	for i := range j.items {
		it := &j.items[i]
		it.processed = true
		j.keys[0] = it.key
		j.args[0] = strconv.FormatInt(it.limit, 10)
		j.args[1] = strconv.FormatInt(int64(it.window/time.Second), 10)
		j.args[2] = "1"
		if _, err := p.redis.Get(); err != nil {
			it.err, it.noClient = err, p.policy == ratelimit.PolicyRedisCluster
		} else if p.sliding {
			it.err = j.slidingRedis(it, time.Now())
		} else {
			res, err := p.redis.Exec(commitScript, p.timeout, j.keys[:], j.args[:])
			if err == nil {
				it.consumed, it.ttl, err = parseReply(res)
			}
			it.err = err
		}
		if it.err != nil {
			if !p.degrade {
				return
			}
			continue
		}
		if (it.sliding && !it.accepted) || (!it.sliding && it.consumed > it.limit) {
			return
		}
	}
}

func parseReply(res rueidis.RedisResult) (consumed int64, ttl time.Duration, err error) {
	arr, err := res.ToArray()
	if err != nil || len(arr) != 2 {
		return 0, 0, errors.Join(errBadReply, err)
	}
	if consumed, err = asInt(&arr[0]); err != nil {
		return 0, 0, err
	}
	ms, err := asInt(&arr[1])
	if err != nil {
		return 0, 0, err
	}
	return consumed, time.Duration(ms) * time.Millisecond, nil
}

// asInt reads an integer reply, or a bulk string holding one (the script
// returns ARGV[3], a string, for a window's first request).
func asInt(m *rueidis.RedisMessage) (int64, error) {
	if n, err := m.ToInt64(); err == nil {
		return n, nil
	}
	n, err := m.AsInt64()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errBadReply, err)
	}
	return n, nil
}

// Resume applies the results on the request's loop, in rule order, as
// APISIX's run_rate_limit does after each incoming call.
func (j *countJob) Resume(c *reqctx.Ctx) reqctx.Result {
	defer j.release()
	if c == nil {
		return reqctx.Stop
	}
	p := j.p
	sc := c.Loop.Local(scratchKey).(*scratch)
	names := headerNamesOf(c)
	for i := range j.items {
		it := &j.items[i]
		if !it.processed {
			break
		}
		if it.err != nil {
			if p.degrade {
				continue
			}
			if it.noClient {
				return c.Exit(500, nil)
			}
			return c.Exit(500, failedBody)
		}
		remaining := it.limit - it.consumed
		rejected := remaining < 0
		if it.sliding {
			// The estimate may leave an admitted request a negative
			// remaining, which APISIX shows as it is.
			remaining, rejected = it.remaining, !it.accepted
		}
		if rejected {
			if p.show {
				p.setHeaders(c, sc, it.r.namesFor(names), it.limit, 0, it.ttl)
			}
			return c.Exit(p.code, p.body)
		}
		if p.show {
			p.setHeaders(c, sc, it.r.namesFor(names), it.limit, remaining, it.ttl)
		}
	}
	return reqctx.Continue
}

func (j *countJob) release() {
	for i := range j.items {
		j.items[i] = jobItem{}
	}
	j.p = nil
	j.keys = [1]string{}
	j.args = [3]string{}
	jobPool.Put(j)
}

var _ reqctx.Job = (*countJob)(nil)
