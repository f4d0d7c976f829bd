package limitcount

import (
	"fmt"

	"github.com/sluicegw/sluice/internal/ratelimit"
)

// schema is apisix/plugins/limit-count/init.lua's schema (3.18), as JSON.
var schema = fmt.Sprintf(`{
  "type": "object",
  "properties": {
    "count": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
    "time_window": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
    "window_type": {"type": "string", "enum": ["fixed", "sliding"], "default": "fixed"},
    "rules": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "count": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
          "time_window": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
          "key": {"type": "string"},
          "header_prefix": {"type": "string", "description": "prefix for rate limit headers"}
        },
        "required": ["count", "time_window", "key"]
      }
    },
    "group": {"type": "string"},
    "key": {"type": "string", "default": "remote_addr"},
    "key_type": {"type": "string", "enum": ["var", "var_combination", "constant"], "default": "var"},
    "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
    "rejected_msg": {"type": "string", "minLength": 1},
    "policy": {"type": "string", "enum": ["local", "redis", "redis-cluster", "redis-sentinel"], "default": "local"},
    "allow_degradation": {"type": "boolean", "default": false},
    "show_limit_quota_header": {"type": "boolean", "default": true},
    "sync_interval": {"type": "number", "default": -1}
  },
  "oneOf": [{"required": ["count", "time_window"]}, {"required": ["rules"]}],
  "if": {"properties": {"policy": {"enum": ["redis"]}}},
  "then": %s,
  "else": {
    "if": {"properties": {"policy": {"enum": ["redis-cluster"]}}},
    "then": %s,
    "else": {
      "if": {"properties": {"policy": {"enum": ["redis-sentinel"]}}},
      "then": %s
    }
  }
}`, ratelimit.RedisThen(false), ratelimit.RedisClusterThen(false), sentinelSchema)

// sentinelSchema is limit-count's own redis-sentinel fragment.
const sentinelSchema = `{
    "properties": {
      "redis_sentinels": {
        "type": "array", "minItems": 1,
        "items": {
          "type": "object",
          "properties": {
            "host": {"type": "string", "minLength": 2},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535}
          },
          "required": ["host", "port"],
          "additionalProperties": false
        }
      },
      "redis_master_name": {"type": "string", "minLength": 1},
      "redis_role": {"type": "string", "enum": ["master", "slave"], "default": "master"},
      "redis_connect_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_read_timeout": {"type": "integer", "minimum": 1, "default": 1000},
      "redis_keepalive_timeout": {"type": "integer", "minimum": 1, "default": 60000},
      "redis_database": {"type": "integer", "minimum": 0, "default": 0},
      "redis_username": {"type": "string", "minLength": 1},
      "redis_password": {"type": "string", "minLength": 0},
      "sentinel_username": {"type": "string", "minLength": 1},
      "sentinel_password": {"type": "string", "minLength": 0}
    },
    "required": ["redis_sentinels", "redis_master_name"]
  }`

// metadataSchema is limit-count's metadata_schema: the rate-limit header
// names.
const metadataSchema = `{
  "type": "object",
  "properties": {
    "limit_header": {"type": "string", "default": "X-RateLimit-Limit"},
    "remaining_header": {"type": "string", "default": "X-RateLimit-Remaining"},
    "reset_header": {"type": "string", "default": "X-RateLimit-Reset"}
  }
}`

// schemaFields are the schema's top-level properties: what the group check
// compares (APISIX's schema_copy.properties).
var schemaFields = []string{
	"count", "time_window", "window_type", "rules", "group", "key", "key_type", "rejected_code",
	"rejected_msg", "policy", "allow_degradation", "show_limit_quota_header", "sync_interval",
}
