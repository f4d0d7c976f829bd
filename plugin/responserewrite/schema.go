package responserewrite

// schema is response-rewrite.lua's schema, as JSON.
const schema = `{
  "type": "object",
  "properties": {
    "max_resp_body_size": {"type": "integer", "minimum": 1, "default": 67108864,
      "description": "maximum response body size in bytes buffered into memory when filters are applied; larger responses are truncated"},
    "headers": {
      "description": "new headers for response",
      "anyOf": [
        {"type": "object", "minProperties": 1, "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}},
        {"properties": {
          "add": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[^:]+:[^:]*[^/]$"}},
          "set": {"type": "object", "minProperties": 1, "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}},
          "remove": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[^:]+$"}}
        }}
      ]
    },
    "body": {"description": "new body for response", "type": "string"},
    "body_base64": {"description": "whether new body for response need base64 decode before return", "type": "boolean", "default": false},
    "status_code": {"description": "new status code for response", "type": "integer", "minimum": 200, "maximum": 598},
    "vars": {"type": "array"},
    "filters": {
      "description": "a group of filters that modify response bodyby replacing one specified string by another",
      "type": "array", "minItems": 1,
      "items": {
        "description": "filter that modifies response body",
        "type": "object",
        "required": ["regex", "replace"],
        "properties": {
          "regex": {"description": "match pattern on response body", "type": "string", "minLength": 1},
          "scope": {"description": "regex substitution range", "type": "string", "enum": ["once", "global"], "default": "once"},
          "replace": {"description": "regex substitution content", "type": "string"},
          "options": {"description": "regex options", "type": "string", "default": "jo"}
        }
      }
    }
  },
  "dependencies": {
    "body": {"not": {"required": ["filters"]}},
    "filters": {"not": {"required": ["body"]}}
  }
}`
