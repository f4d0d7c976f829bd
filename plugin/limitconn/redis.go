package limitconn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// incomingScript is APISIX's limit-conn Redis script (limit-conn/util.lua,
// Apache-2.0): a sorted set per key of the requests in flight, each scored
// by when it expires (key_ttl after it came in, should its log never run);
// expired ones are dropped, then the request joins unless the set is full.
var incomingScript = rueidis.NewLuaScript(`local key = KEYS[1]
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local req_id = ARGV[4]

redis.call('ZREMRANGEBYSCORE', key, 0, now)

local count = redis.call('ZCARD', key)
if count >= limit then
    return {0, count}
end

redis.call('ZADD', key, now + ttl, req_id)
redis.call('EXPIRE', key, ttl)
return {1, count + 1}`)

// errBadReply: Redis answered the script with something it never returns.
var errBadReply = errors.New("limit-conn: unexpected reply from redis")

// redisKeyPrefix is limit-conn/util.lua's key prefix.
const redisKeyPrefix = "limit_conn:"

// held is one request in flight on Redis: the member its log hook removes.
type held struct {
	r       *ratelimit.Redis
	key     string
	member  string
	timeout time.Duration
}

// connJob is one request's trip to Redis: each applying rule's script
// call, in order, until one rejects (or fails, unless degrading). Shaped
// like limit-count's countJob, which says why the two stay apart.
type connJob struct {
	l     *limitConn
	items []connItem
	keys  [1]string
	args  [4]string
}

type connItem struct {
	key         string
	conn, burst int64
	member      string
	allowed     bool
	count       int64
	err         error
	processed   bool
}

var connJobPool = stdsync.Pool{New: func() any { return new(connJob) }}

// parkRedis hands the counting of the rules resolved into rec (keys from
// start on) to a worker.
func (l *limitConn) parkRedis(c *reqctx.Ctx, rec *record, start int, limits []int64) reqctx.Result {
	j := connJobPool.Get().(*connJob)
	j.l, j.items = l, j.items[:0]
	from := start
	for i, end := range rec.pending {
		j.items = append(j.items, connItem{
			key:   redisKeyPrefix + string(rec.keys[from:end]),
			conn:  limits[2*i],
			burst: limits[2*i+1],
		})
		from = end
	}
	rec.keys, rec.pending = rec.keys[:start], rec.pending[:0]
	return c.Park(j)
}

// Run runs the scripts on a worker goroutine. now is wall-clock seconds
// (APISIX's ngx.time): every node sharing the Redis must agree on it.
func (j *connJob) Run() {
	l := j.l
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for i := range j.items {
		it := &j.items[i]
		it.processed = true
		it.member = requestID()
		j.keys[0] = it.key
		j.args = [4]string{strconv.FormatInt(it.conn+it.burst, 10), l.keyTTL, now, it.member}
		res, err := l.redis.Exec(incomingScript, l.timeout, j.keys[:], j.args[:])
		if err == nil {
			it.allowed, it.count, err = parseIncoming(res)
		}
		it.err = err
		if err != nil && !l.degrade {
			return
		}
		if err == nil && !it.allowed {
			return
		}
	}
}

func parseIncoming(res rueidis.RedisResult) (bool, int64, error) {
	arr, err := res.ToArray()
	if err != nil {
		return false, 0, fmt.Errorf("limit-conn: reading the reply from redis: %w", err)
	}
	if len(arr) != 2 {
		return false, 0, errBadReply
	}
	allowed, err := arr[0].ToInt64()
	if err != nil {
		return false, 0, err
	}
	count, err := arr[1].ToInt64()
	return allowed == 1, count, err
}

// requestID is a member for the sorted set: a random UUID v4, as APISIX's
// uuid.generate_v4 when the request has no request-id.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Resume applies the results on the loop: the admitted requests are held
// for the log hook to release, then the first rejection or failure ends
// the request, else it waits out the delay past conn.
func (j *connJob) Resume(c *reqctx.Ctx) reqctx.Result {
	l := j.l
	defer j.release()
	if c == nil {
		// The client went away while Redis counted it in: nothing will
		// log this request, so let go of what was taken.
		for i := range j.items {
			if it := &j.items[i]; it.processed && it.err == nil && it.allowed {
				release(held{l.redis, it.key, it.member, l.timeout})
			}
		}
		return reqctx.Stop
	}
	rec := acquireRecord(c)
	var delay time.Duration
	for i := range j.items {
		it := &j.items[i]
		if !it.processed {
			break
		}
		switch {
		case it.err != nil:
			if l.degrade {
				continue
			}
			return c.Exit(500, nil) // APISIX: "failed to limit conn"
		case !it.allowed:
			return c.Exit(l.code, l.body)
		}
		rec.held = append(rec.held, held{l.redis, it.key, it.member, l.timeout})
		if it.count > it.conn {
			delay += l.unitDelay * time.Duration((it.count-1)/it.conn)
		}
	}
	return l.waitOrReject(c, delay)
}

func (j *connJob) release() {
	for i := range j.items {
		j.items[i] = connItem{}
	}
	j.l = nil
	j.keys, j.args = [1]string{}, [4]string{}
	connJobPool.Put(j)
}

var _ reqctx.Job = (*connJob)(nil)

// Releasing a request's members happens off the loop: its log hook queues
// them and one goroutine sends them, batched per Redis (APISIX's leaving
// runs in a timer for the same reason: log_by_lua cannot use sockets).
var (
	leaving      = make(chan held, leavingQueue)
	startLeaving stdsync.Once
)

// leavingQueue bounds the members waiting to be removed. When it is full a
// member is left to expire from its set on its own (key_ttl after it came
// in), holding its place until then.
const leavingQueue = 1 << 16

// release queues h for removal; it never blocks.
func release(h held) {
	startLeaving.Do(func() { go leaver() })
	select {
	case leaving <- h:
	default:
	}
}

// leaver removes queued members, a batch at a time, with one pipelined
// round trip per Redis.
func leaver() {
	const maxBatch = 256
	batch := make([]held, 0, maxBatch)
	for h := range leaving {
		batch = append(batch[:0], h)
	more:
		for len(batch) < maxBatch {
			select {
			case h := <-leaving:
				batch = append(batch, h)
			default:
				break more
			}
		}
		for len(batch) > 0 {
			r, timeout := batch[0].r, batch[0].timeout
			cli, err := r.Get()
			var cmds rueidis.Commands
			rest := batch[:0] // filtered in place: the other Redis' members
			for _, h := range batch {
				if h.r != r {
					rest = append(rest, h)
				} else if err == nil {
					cmds = append(cmds, cli.B().Zrem().Key(h.key).Member(h.member).Build())
				}
			}
			if len(cmds) > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				cli.DoMulti(ctx, cmds...)
				cancel()
			}
			batch = rest
		}
	}
}
