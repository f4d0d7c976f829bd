package limitcount

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// The sliding window (window_type sliding, APISIX 3.18's
// limit-count/sliding-window/sliding-window.lua): windows aligned on the
// clock (floor(now / time_window)), each counted under
// "<key>.<window id>.counter" for two windows; a request is admitted while
// neither the current window's count nor the estimate "previous count
// weighted by what is left of the current window, plus the current count"
// has reached the limit. Only admitted requests are counted.

// slidingCounterKey appends "<key>.<window id>.counter".
func slidingCounterKey(dst, key []byte, wid int64) []byte {
	dst = append(dst, key...)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, wid, 10)
	return append(dst, ".counter"...)
}

// slidingNow is where now falls: the current and previous window ids and
// the seconds left in the current window.
func slidingNow(now time.Time, window time.Duration) (wid, lastWid int64, remaining float64) {
	sec := float64(now.UnixNano()) / 1e9
	size := window.Seconds()
	wid = int64(math.Floor(sec / size))
	lastWid = int64(math.Floor((sec - size) / size))
	return wid, lastWid, size - math.Mod(sec, size)
}

// slidingResult turns a check into run_rate_limit's (remaining, reset, ok),
// as sliding-window.lua's incoming does: remaining is the limit less the
// count less the previous window's weighted share, floored; reset the
// seconds left in the window, or on a rejection below the limit the
// desired delay; both rounded up to hundredths.
func slidingResult(accepted bool, count, last, limit int64, window time.Duration, remainingTime float64) (int64, time.Duration, bool) {
	size := window.Seconds()
	lastRate := float64(last) / size
	if !accepted {
		reset := remainingTime
		if count < limit {
			if lastRate == 0 {
				reset = remainingTime
			} else if reset = remainingTime - float64(limit-count)/lastRate; reset < 0 {
				reset = 0
			}
		}
		return 0, ceilHundredths(reset), false
	}
	remaining := math.Floor(float64(limit-count) - lastRate*remainingTime)
	return int64(remaining), ceilHundredths(remainingTime), true
}

func ceilHundredths(sec float64) time.Duration {
	return time.Duration(math.Ceil(sec*100) * float64(10*time.Millisecond))
}

// slidingLocal counts one request under the local policy.
func (p *limitCount) slidingLocal(sc *scratch, key []byte, limit int64, window time.Duration) (int64, time.Duration, bool) {
	wid, lastWid, remainingTime := slidingNow(p.wall(), window)
	off := len(sc.keys)
	sc.keys = slidingCounterKey(sc.keys, key, lastWid)
	last := min(p.store.Peek(sc.keys[off:]), limit)
	sc.keys = slidingCounterKey(sc.keys[:off], key, wid)
	accepted, count := p.store.CheckAndAdd(sc.keys[off:], 1, limit, float64(last)/window.Seconds()*remainingTime, 2*window)
	sc.keys = sc.keys[:off]
	return slidingResult(accepted, count, last, limit, window, remainingTime)
}

// slidingScript is APISIX's check_incr_script (sliding-window/store/redis.lua,
// Apache-2.0): the previous window's count comes as an argument (that window
// is frozen) so the script touches one key, as a cluster requires.
var slidingScript = rueidis.NewLuaScript(`local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window_size = tonumber(ARGV[3])
local remaining_time = tonumber(ARGV[4])
local expiry = ARGV[5]
local last = tonumber(ARGV[6])
if last > limit then
    last = limit
end

local cur_ttl = redis.call('pttl', KEYS[1])
local cur = 0
if cur_ttl >= 0 then
    cur = tonumber(redis.call('get', KEYS[1]) or 0)
end

local estimated = last / window_size * remaining_time + cur
if cur >= limit or estimated >= limit then
    return {0, cur, last}
end

local new
if cur_ttl < 0 then
    redis.call('set', KEYS[1], cost, 'EX', expiry)
    new = cost
else
    new = redis.call('incrby', KEYS[1], cost)
end
return {1, new, last}`)

// slidingRedisKeyPrefix is what sliding-window.lua puts before a Redis
// counter key (its plugin_name, without limit-count's key version).
const slidingRedisKeyPrefix = "plugin-limit-count:"

// slidingRedis runs one rule's sliding check on Redis (a worker's side):
// GET the previous window, then the script on the current one.
func (j *countJob) slidingRedis(it *jobItem, now time.Time) error {
	p := j.p
	wid, lastWid, remainingTime := slidingNow(now, it.window)
	base := it.key
	cli, err := p.redis.Get()
	if err != nil {
		return err
	}
	lastKey := string(slidingCounterKey([]byte(base), nil, lastWid))
	ctx, cancel := redisContext(p.timeout)
	lastRes := cli.Do(ctx, cli.B().Get().Key(lastKey).Build())
	cancel()
	last := int64(0)
	if err := lastRes.Error(); err != nil && !rueidis.IsRedisNil(err) {
		return err
	} else if err == nil {
		if last, err = lastRes.AsInt64(); err != nil {
			return err
		}
	}
	size := it.window.Seconds()
	j.keys[0] = string(slidingCounterKey([]byte(base), nil, wid))
	args := []string{"1", strconv.FormatInt(it.limit, 10), strconv.FormatFloat(size, 'g', 14, 64),
		strconv.FormatFloat(remainingTime, 'g', 14, 64), strconv.FormatInt(int64(2*size), 10), strconv.FormatInt(last, 10)}
	res, err := p.redis.Exec(slidingScript, p.timeout, j.keys[:], args)
	if err != nil {
		return err
	}
	arr, err := res.ToArray()
	if err != nil || len(arr) != 3 {
		return errBadReply
	}
	accepted, err := asInt(&arr[0])
	if err != nil {
		return err
	}
	count, err := asInt(&arr[1])
	if err != nil {
		return err
	}
	lastCapped, err := asInt(&arr[2])
	if err != nil {
		return err
	}
	it.remaining, it.ttl, it.accepted = slidingResult(accepted == 1, count, lastCapped, it.limit, it.window, remainingTime)
	it.sliding = true
	return nil
}

// redisContext bounds one Redis command by redis_timeout.
func redisContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), timeout)
}
