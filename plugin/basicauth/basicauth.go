package basicauth

import (
	"bytes"
	"crypto/subtle"
	"fmt"

	"github.com/sluicegw/sluice/internal/cjson"
	"github.com/sluicegw/sluice/internal/ngxbase64"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "basic-auth"

// schema is APISIX 3.18's basic-auth schema (apisix/plugins/basic-auth.lua,
// realm and anonymous_consumer from apisix/schema_def.lua).
var schema = `{
  "type": "object",
  "title": "work with route or service object",
  "properties": {
    "hide_credentials": {"type": "boolean", "default": false},
    "realm": ` + plugin.RealmSchema("basic") + `,
    "anonymous_consumer": ` + plugin.AnonymousConsumerSchema + `
  }
}`

// consumerSchema is the conf on a consumer or credential.
const consumerSchema = `{
  "type": "object",
  "title": "work with consumer object",
  "properties": {
    "username": {"type": "string"},
    "password": {"type": "string"}
  },
  "encrypt_fields": ["password"],
  "required": ["username", "password"]
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:           Name,
		Priority:       2520,
		Version:        "0.1",
		Auth:           true,
		Schema:         schema,
		ConsumerSchema: consumerSchema,
		EncryptFields:  []string{"password"},
		New:            newBasicAuth,
		NewConsumer:    newConsumer,
	})
}

// The answers, as APISIX writes them.
var (
	msgMissing     = cjson.Exit("message", "Missing authorization in request")
	msgInvalid     = cjson.Exit("message", "Invalid authorization in request")
	msgInvalidUser = cjson.Exit("message", "Invalid user authorization")
)

type conf struct {
	HideCredentials   bool   `json:"hide_credentials"`
	Realm             string `json:"realm"`
	AnonymousConsumer string `json:"anonymous_consumer"`
}

// basicAuth is a compiled route-side conf. Immutable.
type basicAuth struct {
	hide      bool
	anonymous string
	challenge []byte // WWW-Authenticate: Basic realm="<realm>"
}

var _ plugin.Rewriter = (*basicAuth)(nil)

func newBasicAuth(_ *plugin.Env, raw []byte) (any, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	return &basicAuth{
		hide:      cf.HideCredentials,
		anonymous: cf.AnonymousConsumer,
		challenge: []byte(`Basic realm="` + cf.Realm + `"`),
	}, nil
}

// credential is a consumer's compiled conf: the password requests must
// present (the username is what they are looked up by).
type credential struct {
	password []byte
}

func newConsumer(raw []byte) (string, any, error) {
	var cf struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := plugin.Decode(raw, &cf); err != nil {
		return "", nil, err
	}
	user, err := plugin.ResolveSecret(cf.Username)
	if err != nil {
		return "", nil, fmt.Errorf("basic-auth: username: %w", err)
	}
	pass, err := plugin.ResolveSecret(cf.Password)
	if err != nil {
		return "", nil, fmt.Errorf("basic-auth: password: %w", err)
	}
	return user, &credential{password: []byte(pass)}, nil
}

// scratch is a loop's buffer for the decoded user:password; the request
// path is done with it before it returns.
type scratch struct{ decoded []byte }

var scratchKey = reqctx.NewLocalKey(func() any { return new(scratch) })

// Rewrite authenticates the request by its Authorization header
// (apisix/plugins/basic-auth.lua find_consumer).
func (b *basicAuth) Rewrite(c *reqctx.Ctx) reqctx.Result {
	h, ok := c.Header("Authorization")
	if !ok {
		return b.fail(c, msgMissing)
	}
	sc := c.Loop.Local(scratchKey).(*scratch)
	var user, pass []byte
	sc.decoded, user, pass, ok = parseAuthorization(sc.decoded[:0], h)
	if !ok {
		return b.fail(c, msgInvalid)
	}
	cred := plugin.FindCredential(c, Name, user)
	if cred == nil {
		return b.fail(c, msgInvalidUser)
	}
	bc, _ := cred.Conf.(*credential)
	if bc == nil || subtle.ConstantTimeCompare(bc.password, pass) != 1 {
		return b.fail(c, msgInvalidUser)
	}
	if b.hide {
		c.DelHeader("Authorization")
	}
	plugin.AttachConsumer(c, cred)
	return reqctx.Continue
}

// fail answers 401 with msg, or falls back to the anonymous consumer
// (hiding the credential only then, unlike key-auth).
func (b *basicAuth) fail(c *reqctx.Ctx, msg []byte) reqctx.Result {
	res := plugin.Unauthenticated(c, b.anonymous, b.challenge, msg)
	if res == reqctx.Continue && b.hide {
		c.DelHeader("Authorization")
	}
	return res
}

// parseAuthorization reads an Authorization value as APISIX does: the
// first "basic" (any case) followed by one whitespace character and the
// rest, base64-decoded as ngx.decode_base64 decodes, split on ':' with
// ngx.re.split (so the password ends at a second ':'), and every
// whitespace character removed from both parts. The decoded text is
// appended to dst, which user and pass point into.
func parseAuthorization(dst, h []byte) (buf, user, pass []byte, ok bool) {
	enc, ok := afterScheme(h)
	if !ok {
		return dst, nil, nil, false
	}
	dst, ok = ngxbase64.Decode(dst, enc)
	if !ok || len(dst) == 0 {
		return dst, nil, nil, false
	}
	i := bytes.IndexByte(dst, ':')
	if i < 0 {
		return dst, nil, nil, false
	}
	user, pass = dst[:i], dst[i+1:]
	if j := bytes.IndexByte(pass, ':'); j >= 0 {
		pass = pass[:j]
	}
	return dst, dropSpace(user), dropSpace(pass), true
}

// afterScheme finds PCRE's (?i:basic)\s(.+) in h, unanchored as
// ngx.re.match runs it, and returns the (.+) capture.
func afterScheme(h []byte) ([]byte, bool) {
	for i := 0; i+6 < len(h); i++ {
		if isBasic(h[i:i+5]) && isSpace(h[i+5]) {
			return h[i+6:], true
		}
	}
	return nil, false
}

// isBasic compares five bytes with "basic", ASCII case-insensitively.
func isBasic(b []byte) bool {
	const word = "basic"
	for i := range 5 {
		if b[i]|0x20 != word[i] {
			return false
		}
	}
	return true
}

// isSpace is PCRE's \s: space, \t, \n, \v, \f, \r.
func isSpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

// dropSpace removes every \s byte from b in place (ngx.re.gsub(s, "\s+",
// "")).
func dropSpace(b []byte) []byte {
	out := b[:0]
	for _, c := range b {
		if !isSpace(c) {
			out = append(out, c)
		}
	}
	return out
}
