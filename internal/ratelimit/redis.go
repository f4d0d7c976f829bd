package ratelimit

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// Policy is where a limit plugin keeps its counters.
type Policy uint8

// Policies, as APISIX names them.
const (
	PolicyLocal         Policy = iota // this process's memory (nginx's shared dict)
	PolicyRedis                       // one Redis server
	PolicyRedisCluster                // a Redis Cluster
	PolicyRedisSentinel               // the master a Redis Sentinel set names (limit-count only)
)

func (p Policy) String() string {
	switch p {
	case PolicyLocal:
		return "local"
	case PolicyRedis:
		return "redis"
	case PolicyRedisCluster:
		return "redis-cluster"
	case PolicyRedisSentinel:
		return "redis-sentinel"
	}
	return "invalid"
}

// ParsePolicy decodes a policy.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "local":
		return PolicyLocal, nil
	case "redis":
		return PolicyRedis, nil
	case "redis-cluster":
		return PolicyRedisCluster, nil
	case "redis-sentinel":
		return PolicyRedisSentinel, nil
	}
	return 0, fmt.Errorf("ratelimit: unknown policy %q", s)
}

// RedisConf is the Redis part of a limit plugin's conf (APISIX's
// redis-schema.lua and limit-count's sentinel fields), with the schema's
// defaults filled in. Decode it from the conf JSON.
type RedisConf struct {
	Host     string  `json:"redis_host"`
	Port     int     `json:"redis_port"`     // default 6379
	Username *string `json:"redis_username"` // ACL user; nil: legacy requirepass
	Password *string `json:"redis_password"`
	Database int     `json:"redis_database"`
	// Timeout is milliseconds for connecting and for each command
	// (default 1000).
	Timeout   int  `json:"redis_timeout"`
	SSL       bool `json:"redis_ssl"`
	SSLVerify bool `json:"redis_ssl_verify"`

	ClusterNodes     []string `json:"redis_cluster_nodes"`
	ClusterName      string   `json:"redis_cluster_name"`
	ClusterSSL       bool     `json:"redis_cluster_ssl"`
	ClusterSSLVerify bool     `json:"redis_cluster_ssl_verify"`

	Sentinels []struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"redis_sentinels"`
	MasterName       string  `json:"redis_master_name"`
	Role             string  `json:"redis_role"`
	ConnectTimeout   int     `json:"redis_connect_timeout"`
	ReadTimeout      int     `json:"redis_read_timeout"`
	SentinelUsername *string `json:"sentinel_username"`
	SentinelPassword *string `json:"sentinel_password"`

	// redis_keepalive_timeout and redis_keepalive_pool size a pool of
	// connections per worker in APISIX; a rueidis client pipelines every
	// request over one connection per node, so they have no use here.
}

// DefaultRedisTimeout is redis_timeout's default (milliseconds).
const DefaultRedisTimeout = 1000

// CommandTimeout is how long one Redis command may take: redis_timeout
// (redis_read_timeout for Sentinel).
func (rc *RedisConf) CommandTimeout(p Policy) time.Duration {
	ms := rc.Timeout
	if p == PolicyRedisSentinel {
		ms = rc.ReadTimeout
	}
	if ms <= 0 {
		ms = DefaultRedisTimeout
	}
	return time.Duration(ms) * time.Millisecond
}

// identity is what makes two confs use one connection: everything that
// changes where it goes, how it authenticates or what database it selects.
func (rc *RedisConf) identity(p Policy) string {
	var b strings.Builder
	b.WriteString(p.String())
	str := func(s string) { b.WriteByte(0); b.WriteString(s) }
	opt := func(s *string) {
		if s == nil {
			str("\x01")
			return
		}
		str(*s)
	}
	switch p {
	case PolicyRedis:
		str(rc.Host)
		str(strconv.Itoa(rc.Port))
		str(strconv.FormatBool(rc.SSL) + strconv.FormatBool(rc.SSLVerify))
	case PolicyRedisCluster:
		for _, n := range rc.ClusterNodes {
			str(n)
		}
		str(strconv.FormatBool(rc.ClusterSSL) + strconv.FormatBool(rc.ClusterSSLVerify))
	case PolicyRedisSentinel:
		for _, s := range rc.Sentinels {
			str(net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
		}
		str(rc.MasterName)
		str(rc.Role)
		opt(rc.SentinelUsername)
		opt(rc.SentinelPassword)
	}
	opt(rc.Username)
	opt(rc.Password)
	str(strconv.Itoa(rc.Database))
	str(strconv.Itoa(rc.Timeout) + "/" + strconv.Itoa(rc.ConnectTimeout))
	return b.String()
}

// option is the rueidis client option for the conf.
func (rc *RedisConf) option(p Policy) (rueidis.ClientOption, error) {
	connect := rc.CommandTimeout(PolicyRedis)
	opt := rueidis.ClientOption{
		DisableCache:       true, // no client-side caching: counters change on every request
		ReadBufferEachConn: 64 << 10,
		// A command may not wait for a reply longer than this (APISIX's
		// set_timeouts); the per-command context is the sharper bound.
		ConnWriteTimeout: max(connect, time.Second),
	}
	if rc.Username != nil {
		opt.Username = *rc.Username
	}
	if rc.Password != nil {
		opt.Password = *rc.Password
	}
	switch p {
	case PolicyRedis:
		port := rc.Port
		if port == 0 {
			port = 6379
		}
		opt.InitAddress = []string{net.JoinHostPort(rc.Host, strconv.Itoa(port))}
		opt.ForceSingleClient = true
		opt.SelectDB = rc.Database
		if rc.SSL {
			opt.TLSConfig = &tls.Config{ServerName: rc.Host, InsecureSkipVerify: !rc.SSLVerify}
		}
	case PolicyRedisCluster:
		for _, n := range rc.ClusterNodes {
			host, port, err := splitNode(n)
			if err != nil {
				return opt, err
			}
			opt.InitAddress = append(opt.InitAddress, net.JoinHostPort(host, port))
		}
		if rc.ClusterSSL {
			opt.TLSConfig = &tls.Config{InsecureSkipVerify: !rc.ClusterSSLVerify}
		}
	case PolicyRedisSentinel:
		for _, s := range rc.Sentinels {
			opt.InitAddress = append(opt.InitAddress, net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
		}
		opt.Sentinel.MasterSet = rc.MasterName
		if rc.SentinelUsername != nil {
			opt.Sentinel.Username = *rc.SentinelUsername
		}
		if rc.SentinelPassword != nil {
			opt.Sentinel.Password = *rc.SentinelPassword
		}
		opt.SelectDB = rc.Database
		opt.ReplicaOnly = rc.Role == "slave"
		if rc.ConnectTimeout > 0 {
			connect = time.Duration(rc.ConnectTimeout) * time.Millisecond
		}
	default:
		return opt, fmt.Errorf("ratelimit: policy %s has no Redis", p)
	}
	opt.Dialer.Timeout = connect
	return opt, nil
}

// splitNode parses a redis_cluster_nodes entry, "host:port" (APISIX's
// core.utils.parse_addr: a missing port is 80... which no Redis listens on,
// so it is refused here instead).
func splitNode(n string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(n)
	if err != nil {
		return "", "", fmt.Errorf("failed to parse address: %s err: %w", n, err)
	}
	return host, port, nil
}

// Redis is a shared connection to the Redis a conf names: one rueidis
// client (which pipelines concurrent commands over one connection per
// node) for every conf with the same identity, dialled on first use.
// Safe from any goroutine.
type Redis struct {
	policy Policy
	opt    rueidis.ClientOption

	mu      stdsync.Mutex // guards cli, dialing, lastErr, errAt
	cli     rueidis.Client
	dialing chan struct{} // closed when the dial in progress ends
	lastErr error
	errAt   time.Time

	lastUsed atomic.Int64 // unix nanoseconds
}

// redialBackoff is how long a failed dial is reported again without
// dialling: when Redis is down, requests fail at once instead of each one
// queueing a dial of its own behind the last (APISIX's workers each dial,
// but each holds only its own request).
const redialBackoff = 200 * time.Millisecond

// idleClose is how long a client may go unused before the registry closes
// its connections (APISIX's keepalive pools close idle connections too).
const idleClose = 10 * time.Minute

var registry = struct {
	mu stdsync.Mutex // guards m
	m  map[string]*Redis
}{m: map[string]*Redis{}}

// SharedRedis returns the shared connection for rc under policy p,
// creating (but not dialling) it on first use. Call it when compiling a
// conf; it also closes the connections no conf used for a while.
func SharedRedis(p Policy, rc *RedisConf) (*Redis, error) {
	opt, err := rc.option(p)
	if err != nil {
		return nil, err
	}
	id := rc.identity(p)
	registry.mu.Lock()
	defer registry.mu.Unlock()
	now := time.Now()
	for _, r := range registry.m {
		if now.Sub(time.Unix(0, r.lastUsed.Load())) > idleClose {
			r.closeIdle()
		}
	}
	r := registry.m[id]
	if r == nil {
		r = &Redis{policy: p, opt: opt}
		registry.m[id] = r
	}
	r.lastUsed.Store(now.UnixNano())
	return r, nil
}

// Get returns the connected client, dialling it first if needed. It
// blocks (a dial takes up to the connect timeout): call it on a worker.
func (r *Redis) Get() (rueidis.Client, error) {
	r.lastUsed.Store(time.Now().UnixNano())
	for {
		r.mu.Lock()
		if r.cli != nil {
			cli := r.cli
			r.mu.Unlock()
			return cli, nil
		}
		if wait := r.dialing; wait != nil {
			r.mu.Unlock()
			<-wait
			continue
		}
		if r.lastErr != nil && time.Since(r.errAt) < redialBackoff {
			err := r.lastErr
			r.mu.Unlock()
			return nil, err
		}
		done := make(chan struct{})
		r.dialing = done
		r.mu.Unlock()

		cli, err := rueidis.NewClient(r.opt)

		r.mu.Lock()
		r.dialing = nil
		if err != nil {
			r.lastErr, r.errAt = err, time.Now()
		} else {
			r.cli, r.lastErr = cli, nil
		}
		r.mu.Unlock()
		close(done)
		if err != nil {
			return nil, err
		}
		return cli, nil
	}
}

// closeIdle closes the client's connections; the next Get dials again.
func (r *Redis) closeIdle() {
	r.mu.Lock()
	cli := r.cli
	r.cli = nil
	r.mu.Unlock()
	if cli != nil {
		cli.Close()
	}
}

// Exec runs script on Redis with a deadline of timeout: EVALSHA, then EVAL
// when Redis does not know the script yet. Blocking: call it on a worker.
func (r *Redis) Exec(script *rueidis.Lua, timeout time.Duration, keys, args []string) (rueidis.RedisResult, error) {
	cli, err := r.Get()
	if err != nil {
		return rueidis.RedisResult{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	res := script.Exec(ctx, cli, keys, args)
	cancel()
	if err := res.Error(); err != nil && !rueidis.IsRedisNil(err) {
		return res, err
	}
	return res, nil
}
