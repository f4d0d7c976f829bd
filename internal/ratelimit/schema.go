package ratelimit

import "strings"

// RedisSchema and RedisClusterSchema are APISIX's redis-schema.lua
// policy_to_additional_properties, as JSON: the "then" branches a limit
// plugin's schema applies when policy is redis or redis-cluster.
const (
	RedisSchema = `{
    "properties": {
      "redis_host": {"type": "string", "minLength": 2},
      "redis_port": {"type": "integer", "minimum": 1, "default": 6379},
      "redis_username": {"type": "string", "minLength": 1},
      "redis_password": {"type": "string", "minLength": 0},
      "redis_database": {"type": "integer", "minimum": 0, "default": 0},
      "redis_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_ssl": {"type": "boolean", "default": false},
      "redis_ssl_verify": {"type": "boolean", "default": false},
      "redis_keepalive_timeout": {"type": "integer", "minimum": 1000, "default": 10000},
      "redis_keepalive_pool": {"type": "integer", "minimum": 1, "default": 100}%s
    },
    "required": ["redis_host"]
  }`
	RedisClusterSchema = `{
    "properties": {
      "redis_cluster_nodes": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 2, "maxLength": 100}},
      "redis_password": {"type": "string", "minLength": 0},
      "redis_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_cluster_name": {"type": "string"},
      "redis_cluster_ssl": {"type": "boolean", "default": false},
      "redis_cluster_ssl_verify": {"type": "boolean", "default": false},
      "redis_keepalive_timeout": {"type": "integer", "minimum": 1000, "default": 10000},
      "redis_keepalive_pool": {"type": "integer", "minimum": 1, "default": 100}%s
    },
    "required": ["redis_cluster_nodes", "redis_cluster_name"]
  }`
)

// keyTTL is limit-conn's addition to both (limit_conn_redis_schema).
const keyTTL = `,
      "key_ttl": {"type": "integer", "default": 3600}`

// RedisThen returns the Redis fragment for policy "redis" (withKeyTTL:
// limit-conn's variant).
func RedisThen(withKeyTTL bool) string { return fill(RedisSchema, withKeyTTL) }

// RedisClusterThen returns the fragment for policy "redis-cluster".
func RedisClusterThen(withKeyTTL bool) string { return fill(RedisClusterSchema, withKeyTTL) }

func fill(s string, withKeyTTL bool) string {
	extra := ""
	if withKeyTTL {
		extra = keyTTL
	}
	return strings.Replace(s, "%s", extra, 1)
}

// RedisFields lists the properties of a policy's fragment (APISIX's group
// check compares them too).
func RedisFields(p Policy) []string {
	switch p {
	case PolicyRedis:
		return []string{"redis_host", "redis_port", "redis_username", "redis_password", "redis_database",
			"redis_timeout", "redis_ssl", "redis_ssl_verify", "redis_keepalive_timeout", "redis_keepalive_pool"}
	case PolicyRedisCluster:
		return []string{"redis_cluster_nodes", "redis_password", "redis_timeout", "redis_cluster_name",
			"redis_cluster_ssl", "redis_cluster_ssl_verify", "redis_keepalive_timeout", "redis_keepalive_pool"}
	case PolicyRedisSentinel:
		return []string{"redis_sentinels", "redis_master_name", "redis_role", "redis_connect_timeout",
			"redis_read_timeout", "redis_keepalive_timeout", "redis_database", "redis_username",
			"redis_password", "sentinel_username", "sentinel_password"}
	}
	return nil
}
