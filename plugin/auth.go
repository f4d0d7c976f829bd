package plugin

import (
	"github.com/sluicegw/sluice/internal/cjson"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// What APISIX's auth plugins share beyond finding and attaching a consumer:
// two schema fragments of apisix/schema_def.lua, and the answer to a
// request none of their credentials matched.

// RealmSchema is schema_def.get_realm_schema(def): the realm property an
// auth plugin's schema puts in its WWW-Authenticate challenge, def its
// default.
func RealmSchema(def string) string {
	return `{
      "type": "string",
      "pattern": "^[\u0020-\u0021\u0023-\u005b\\]-\u007e]+$",
      "default": "` + def + `",
      "minLength": 1,
      "maxLength": 128
    }`
}

// AnonymousConsumerSchema is schema_def.anonymous_consumer_schema.
const AnonymousConsumerSchema = `{"type": "string", "minLength": 1}`

// msgInvalidUser is APISIX's answer when an auth plugin's
// anonymous_consumer does not exist.
var msgInvalidUser = cjson.Exit("message", "Invalid user authorization")

// Unauthenticated ends an auth plugin's rewrite for a request it found no
// credential for, as APISIX's auth plugins do: without an
// anonymous_consumer, 401 with msg and the WWW-Authenticate challenge; with
// one, the request goes on as that consumer (Continue: the plugin then
// hides the credential if it must), or, when the snapshot has no consumer
// of that name, 401 {"message":"Invalid user authorization"}. Loop-only;
// allocates nothing.
func Unauthenticated(c *reqctx.Ctx, anonymous string, challenge, msg []byte) reqctx.Result {
	if anonymous != "" {
		if AttachAnonymous(c, anonymous) {
			return reqctx.Continue
		}
		msg = msgInvalidUser
	}
	c.SetRespHeader("WWW-Authenticate", challenge)
	return c.Exit(401, msg)
}
