package plugin

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	stdsync "sync"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/lua"
)

// The phase interfaces a compiled plugin instance implements, any subset.
type (
	// Rewriter runs in the rewrite phase (auth plugins identify the
	// consumer here). Returning Stop ends the request with the response
	// the hook set (Ctx.Exit); Parked waits for a Job.
	Rewriter interface {
		Rewrite(c *reqctx.Ctx) reqctx.Result
	}
	// Accessor runs in the access phase; results as Rewriter's.
	Accessor interface {
		Access(c *reqctx.Ctx) reqctx.Result
	}
	// BeforeProxier runs after the balancer picked a node, before the
	// request is sent; results as Rewriter's.
	BeforeProxier interface {
		BeforeProxy(c *reqctx.Ctx) reqctx.Result
	}
	// HeaderFilterer runs when the response head is known (upstream's or
	// the gateway's own). It edits status and headers through the Ctx and
	// sets Ctx.BodyRewrite if its body filter will change the body.
	HeaderFilterer interface {
		HeaderFilter(c *reqctx.Ctx)
	}
	// BodyFilterer sees the response body as it streams: data is the next
	// piece (valid only during the call), eof marks the last call. It
	// returns the bytes to send instead, which must stay valid until its
	// next call; when no hook set Ctx.BodyRewrite the return value is
	// ignored (the hook only observes).
	BodyFilterer interface {
		BodyFilter(c *reqctx.Ctx, data []byte, eof bool) []byte
	}
	// Logger runs once every request is over, however it ended.
	Logger interface {
		Log(c *reqctx.Ctx)
	}
)

// Def describes one plugin: its APISIX identity and schemas, and how its
// confs compile. Plugins register a Def from init (Register); a Def is
// immutable afterwards.
type Def struct {
	// Name is APISIX's plugin name ("key-auth").
	Name string
	// Priority orders plugins within a phase, higher first (APISIX's).
	Priority int
	// Version is the plugin's version, as APISIX lists it.
	Version string
	// Auth marks authentication plugins (APISIX's type = "auth"): their
	// consumer-side confs are indexed for lookup (Consumer), and a
	// credential object may hold exactly one of them.
	Auth bool
	// PreferRoute (APISIX's run_policy "prefer_route"): in global rules
	// the plugin is skipped for routes that have it themselves.
	PreferRoute bool
	// Schema is the JSON schema of the plugin's conf on a route, service,
	// plugin config, consumer group or global rule, as APISIX defines it.
	Schema string
	// ConsumerSchema is an auth plugin's conf on a consumer or credential.
	ConsumerSchema string
	// MetadataSchema is the schema of plugin_metadata/<name>; empty when
	// the plugin has no metadata.
	MetadataSchema string
	// EncryptFields are the conf fields APISIX stores encrypted (dotted
	// paths): its encrypt_fields, of the consumer-side conf for an auth
	// plugin with a ConsumerSchema, else of the conf. The Admin API and the
	// data plane encrypt and decrypt by config's table of them
	// (config.SecretFields), which plugin/all's tests check this against.
	EncryptFields []string
	// Check, optional, checks what the schema cannot express (APISIX's
	// check_schema logic beyond the schema); its error is shown as is.
	Check func(conf map[string]any, consumer bool) error
	// SchemaError, optional, rewords a failure of Schema for conf, as some
	// of APISIX's check_schema functions do (limit-count answers "count/
	// time_window and rules cannot be specified at the same time" where its
	// schema's oneOf fails); it returns err itself to keep it.
	SchemaError func(conf map[string]any, err error) error
	// New compiles a checked conf (JSON, defaults filled in) into an
	// instance implementing some of the phase interfaces. It runs once per
	// config version on the config goroutine.
	New func(env *Env, conf []byte) (any, error)
	// NewConsumer compiles an auth plugin's consumer-side conf: key is
	// what requests are looked up by (Ctx.Config.Credential), conf the
	// compiled value found there (Credential.Conf).
	NewConsumer func(conf []byte) (key string, compiled any, err error)
	// NewMetadata compiles plugin_metadata/<name> (Ctx.Config.Metadata).
	NewMetadata func(conf []byte) (any, error)

	lua *lua.Module // set for Lua plugins (LuaDef)
}

// Env is what compiling a conf may use.
type Env struct {
	// Owner is the resource key of the object the conf belongs to
	// ("/apisix/routes/1"), which scopes state such as limit counters.
	Owner string
	// Owners names, by plugin, the object a conf merged into Owner's came
	// from when that is another one: a route's confs inherited from its
	// service ("/apisix/services/1") or plugin config, a consumer's from
	// its consumer group. APISIX keys limit counters by that object (its
	// _meta.parent), so the routes of a service share one quota. Nil when
	// every conf is Owner's own. Read it through OwnerOf.
	Owners map[string]string
	// Logger is the plugin's logger; nothing is logged per request.
	Logger *slog.Logger
	// Upstreams compiles and finds upstreams (traffic-split); nil where
	// a conf cannot name upstreams.
	Upstreams Upstreams
	// Lua is the Lua runtime (serverless functions, Lua plugins); nil when
	// the node runs without one.
	Lua *lua.Runtime
}

// OwnerOf returns the resource key of the object the named plugin's conf
// came from: Owners' entry, else Owner.
func (e *Env) OwnerOf(plugin string) string {
	if e == nil {
		return ""
	}
	if o, ok := e.Owners[plugin]; ok {
		return o
	}
	return e.Owner
}

// Upstreams gives plugins the config builder's compiled upstreams; the
// values are opaque to plugins and handed to Ctx (SetUpstream).
type Upstreams interface {
	// Compile compiles an inline upstream conf (the object's JSON).
	Compile(conf []byte) (any, error)
	// Find returns the compiled upstream with this id, or an error.
	Find(id string) (any, error)
}

var catalog = struct {
	mu   stdsync.Mutex // guards defs; taken at init and when a registry is built
	defs map[string]*Def
}{defs: map[string]*Def{}}

// Register adds a plugin. Call it from the plugin package's init; a second
// registration of a name is a programming error reported by Catalog.
func Register(d *Def) {
	catalog.mu.Lock()
	defer catalog.mu.Unlock()
	if _, dup := catalog.defs[d.Name]; dup {
		catalog.defs[d.Name] = &Def{Name: d.Name, New: func(*Env, []byte) (any, error) {
			return nil, fmt.Errorf("plugin: %s registered twice", d.Name)
		}}
		return
	}
	catalog.defs[d.Name] = d
}

// Catalog returns every registered plugin, by name.
func Catalog() []*Def {
	catalog.mu.Lock()
	defer catalog.mu.Unlock()
	out := make([]*Def, 0, len(catalog.defs))
	for _, d := range catalog.defs {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *Def) int { return compareNames(a.Name, b.Name) })
	return out
}

func compareNames(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Decode is a helper for New: it unmarshals a conf into a plugin's typed
// conf struct.
func Decode(conf []byte, v any) error {
	if err := json.Unmarshal(conf, v); err != nil {
		return fmt.Errorf("plugin: decoding conf: %w", err)
	}
	return nil
}
