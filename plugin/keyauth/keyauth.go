package keyauth

import (
	"fmt"

	"github.com/sluicegw/sluice/internal/cjson"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// Name is the plugin's name.
const Name = "key-auth"

// schema is APISIX 3.18's key-auth schema (apisix/plugins/key-auth.lua,
// realm and anonymous_consumer from apisix/schema_def.lua).
var schema = `{
  "type": "object",
  "properties": {
    "header": {"type": "string", "default": "apikey"},
    "query": {"type": "string", "default": "apikey"},
    "realm": ` + plugin.RealmSchema("key") + `,
    "hide_credentials": {"type": "boolean", "default": false},
    "anonymous_consumer": ` + plugin.AnonymousConsumerSchema + `
  }
}`

// consumerSchema is the conf on a consumer or credential.
const consumerSchema = `{
  "type": "object",
  "properties": {
    "key": {"type": "string"}
  },
  "encrypt_fields": ["key"],
  "required": ["key"]
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:           Name,
		Priority:       2500,
		Version:        "0.1",
		Auth:           true,
		Schema:         schema,
		ConsumerSchema: consumerSchema,
		EncryptFields:  []string{"key"},
		New:            newKeyAuth,
		NewConsumer:    newConsumer,
	})
}

// The answers, as APISIX writes them.
var (
	msgMissing = cjson.Exit("message", "Missing API key in request")
	msgInvalid = cjson.Exit("message", "Invalid API key in request")
)

// conf is the route-side conf, defaults filled in.
type conf struct {
	Header            string `json:"header"`
	Query             string `json:"query"`
	Realm             string `json:"realm"`
	HideCredentials   bool   `json:"hide_credentials"`
	AnonymousConsumer string `json:"anonymous_consumer"`
}

// keyAuth is a compiled route-side conf. Immutable.
type keyAuth struct {
	header    plugin.HeaderName
	query     string
	hide      bool
	anonymous string
	challenge []byte // WWW-Authenticate: apikey realm="<realm>"
}

var _ plugin.Rewriter = (*keyAuth)(nil)

func newKeyAuth(_ *plugin.Env, raw []byte) (any, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	return &keyAuth{
		header:    plugin.NewHeaderName(cf.Header),
		query:     cf.Query,
		hide:      cf.HideCredentials,
		anonymous: cf.AnonymousConsumer,
		challenge: []byte(`apikey realm="` + cf.Realm + `"`),
	}, nil
}

// newConsumer compiles a consumer's or credential's conf: requests are
// looked up by its key (a $env:// reference resolved now).
func newConsumer(raw []byte) (string, any, error) {
	var cf struct {
		Key string `json:"key"`
	}
	if err := plugin.Decode(raw, &cf); err != nil {
		return "", nil, err
	}
	key, err := plugin.ResolveSecret(cf.Key)
	if err != nil {
		return "", nil, fmt.Errorf("key-auth: key: %w", err)
	}
	return key, nil, nil
}

// scratch is a loop's buffers for decoding a query argument and
// rebuilding the query without it; the request path uses them and lets
// go before it returns, so one per loop serves every request.
type scratch struct {
	arg, args []byte
}

var scratchKey = reqctx.NewLocalKey(func() any { return new(scratch) })

// Rewrite authenticates the request by its API key: the header first,
// then the query argument (apisix/plugins/key-auth.lua find_consumer).
func (k *keyAuth) Rewrite(c *reqctx.Ctx) reqctx.Result {
	sc := c.Loop.Local(scratchKey).(*scratch)
	key, headerName, fromHeader := k.header.Get(c)
	if !fromHeader {
		var kind plugin.ArgKind
		sc.arg, kind = plugin.URIArg(sc.arg[:0], c.Args(), k.query)
		switch kind {
		case plugin.ArgMissing:
			return k.fail(c, sc, msgMissing)
		case plugin.ArgValue:
			key = sc.arg
		default:
			// A flag or a repeated argument is a Lua boolean or table:
			// no consumer has it as a key.
			return k.fail(c, sc, msgInvalid)
		}
	}
	cred := plugin.FindCredential(c, Name, key)
	if cred == nil {
		return k.fail(c, sc, msgInvalid)
	}
	if k.hide {
		if fromHeader {
			c.DelHeader(headerName)
		} else {
			k.hideQuery(c, sc)
		}
	}
	plugin.AttachConsumer(c, cred)
	return reqctx.Continue
}

// fail answers 401 with msg, or falls back to the anonymous consumer.
func (k *keyAuth) fail(c *reqctx.Ctx, sc *scratch, msg []byte) reqctx.Result {
	if k.anonymous != "" && k.hide {
		// The credential was not accepted but must not reach the upstream
		// either, wherever it was (APISIX strips both places here, before
		// it looks the anonymous consumer up).
		if _, name, ok := k.header.Get(c); ok {
			c.DelHeader(name)
		}
		k.hideQuery(c, sc)
	}
	return plugin.Unauthenticated(c, k.anonymous, k.challenge, msg)
}

// hideQuery removes the key's query argument, if the query has it.
func (k *keyAuth) hideQuery(c *reqctx.Ctx, sc *scratch) {
	args := c.Args()
	if _, kind := plugin.URIArg(sc.arg[:0], args, k.query); kind == plugin.ArgMissing {
		return
	}
	sc.args = plugin.WithoutURIArg(sc.args[:0], args, k.query)
	c.SetArgs(sc.args)
}
