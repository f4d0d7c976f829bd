package jwtauth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/cjson"
	"github.com/sluicegw/sluice/internal/ngxbase64"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "jwt-auth"

// schema is APISIX 3.18's jwt-auth schema (apisix/plugins/jwt-auth.lua,
// realm and anonymous_consumer from apisix/schema_def.lua).
var schema = `{
  "type": "object",
  "properties": {
    "header": {"type": "string", "default": "authorization"},
    "query": {"type": "string", "default": "jwt"},
    "cookie": {"type": "string", "default": "jwt"},
    "hide_credentials": {"type": "boolean", "default": false},
    "key_claim_name": {"type": "string", "default": "key", "minLength": 1},
    "store_in_ctx": {"type": "boolean", "default": false},
    "realm": ` + plugin.RealmSchema("jwt") + `,
    "anonymous_consumer": ` + plugin.AnonymousConsumerSchema + `,
    "claims_to_verify": {
      "type": "array",
      "items": {"type": "string", "enum": ["exp", "nbf"]},
      "uniqueItems": true
    }
  }
}`

// consumerSchema is the conf on a consumer or credential.
const consumerSchema = `{
  "type": "object",
  "properties": {
    "key": {"type": "string", "minLength": 1},
    "secret": {"type": "string", "minLength": 1},
    "algorithm": {
      "type": "string",
      "enum": ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"],
      "default": "HS256"
    },
    "exp": {"type": "integer", "minimum": 1, "default": 86400},
    "base64_secret": {"type": "boolean", "default": false},
    "lifetime_grace_period": {"type": "integer", "minimum": 0, "default": 0}
  },
  "dependencies": {
    "algorithm": {
      "oneOf": [
        {
          "properties": {
            "algorithm": {"enum": ["HS256", "HS384", "HS512"], "default": "HS256"}
          }
        },
        {
          "properties": {
            "public_key": {"type": "string", "minLength": 1},
            "algorithm": {"enum": ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"]}
          },
          "required": ["public_key"]
        }
      ]
    }
  },
  "encrypt_fields": ["secret"],
  "required": ["key"]
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:           Name,
		Priority:       2510,
		Version:        "0.1",
		Auth:           true,
		Schema:         schema,
		ConsumerSchema: consumerSchema,
		EncryptFields:  []string{"secret"},
		Check:          check,
		New:            newJWTAuth,
		NewConsumer:    newConsumer,
	})
}

// check is what jwt-auth's check_schema adds to the consumer schema.
func check(conf map[string]any, consumer bool) error {
	if !consumer {
		return nil
	}
	alg, _ := conf["algorithm"].(string)
	hs := strings.HasPrefix(alg, "HS")
	secret, hasSecret := conf["secret"].(string)
	if hs && !hasSecret {
		return errors.New(`property "secret" is required when using HS based algorithms`)
	}
	if b64, _ := conf["base64_secret"].(bool); b64 && hasSecret && !isSecretRef(secret) {
		if _, ok := ngxbase64.Decode(nil, []byte(secret)); !ok {
			return errors.New("base64_secret required but the secret is not in base64 format")
		}
	}
	if _, ok := conf["public_key"].(string); !hs && !ok {
		return errors.New("missing valid public key")
	}
	return nil
}

// isSecretRef reports whether v is a $secret:// or $env:// reference
// (apisix/secret.lua is_secret_ref).
func isSecretRef(v string) bool {
	return strings.HasPrefix(v, "$secret://") || len(v) >= 7 && strings.EqualFold(v[:7], "$env://")
}

// The answers, as APISIX writes them.
var (
	msgMissing    = cjson.Exit("message", "Missing JWT token in request")
	msgInvalid    = cjson.Exit("message", "JWT token invalid")
	msgMissingKey = cjson.Exit("message", "missing user key in JWT token")
	msgInvalidKey = cjson.Exit("message", "Invalid user key in JWT token")
	msgFailed     = cjson.Exit("message", "failed to verify jwt")
)

type conf struct {
	Header            string   `json:"header"`
	Query             string   `json:"query"`
	Cookie            string   `json:"cookie"`
	HideCredentials   bool     `json:"hide_credentials"`
	KeyClaimName      string   `json:"key_claim_name"`
	StoreInCtx        bool     `json:"store_in_ctx"`
	Realm             string   `json:"realm"`
	AnonymousConsumer string   `json:"anonymous_consumer"`
	ClaimsToVerify    []string `json:"claims_to_verify"`
}

// jwtAuth is a compiled route-side conf. Immutable.
type jwtAuth struct {
	header     plugin.HeaderName
	query      string
	cookie     string   // the name, as configured (hide_credentials compares it exactly)
	cookieVar  expr.Var // cookie_<name>
	hide       bool
	keyClaim   string
	storeInCtx bool
	anonymous  string
	challenge  []byte // WWW-Authenticate: Bearer realm="<realm>"
	// claims are the claims verified: nil means exp and nbf when the
	// token has them (claims_to_verify absent or empty), otherwise the
	// listed ones, which the token must have.
	claims []claim
}

var _ plugin.Rewriter = (*jwtAuth)(nil)

func newJWTAuth(_ *plugin.Env, raw []byte) (any, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	j := &jwtAuth{
		header:     plugin.NewHeaderName(cf.Header),
		query:      cf.Query,
		cookie:     cf.Cookie,
		cookieVar:  expr.ParseVar("cookie_" + cf.Cookie),
		hide:       cf.HideCredentials,
		keyClaim:   cf.KeyClaimName,
		storeInCtx: cf.StoreInCtx,
		anonymous:  cf.AnonymousConsumer,
		challenge:  []byte(`Bearer realm="` + cf.Realm + `"`),
	}
	for _, name := range cf.ClaimsToVerify {
		cl, ok := claimByName(name)
		if !ok {
			return nil, fmt.Errorf("jwt-auth: unknown claim %q", name)
		}
		j.claims = append(j.claims, cl)
	}
	return j, nil
}

// Rewrite authenticates the request by its JSON Web Token
// (apisix/plugins/jwt-auth.lua find_consumer).
func (j *jwtAuth) Rewrite(c *reqctx.Ctx) reqctx.Result {
	cred, payload, msg := j.find(c)
	if cred == nil {
		return plugin.Unauthenticated(c, j.anonymous, j.challenge, msg)
	}
	if j.storeInCtx {
		c.SetLocal(PayloadKey, &Payload{JSON: append([]byte(nil), payload...)})
	}
	plugin.AttachConsumer(c, cred)
	return reqctx.Continue
}

// PayloadKey holds, with store_in_ctx, the verified token's payload for
// the plugins after jwt-auth (APISIX's ctx.jwt_auth_payload): a *Payload.
var PayloadKey = reqctx.NewLocalKey(func() any { return nil })

// Payload is a verified token's payload.
type Payload struct {
	// JSON is the payload as the token carried it (decoded from base64url).
	JSON []byte
}
