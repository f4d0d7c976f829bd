// Package plugin owns the plugin runtime: what a plugin is (Def, registered
// from init, one package per plugin under plugin/, all of them listed in
// plugin/all), which ones run (Registry, from config.yaml's plugins list),
// how a conf is checked (the plugin's APISIX schema, with APISIX's error
// texts, for the Admin API, etcd and apisix.yaml alike) and compiled once per
// config version into a Chain, and how a Chain runs a request's phases in
// APISIX's order.
//
// It refuses to own connections and when phases run (engine), the request
// context hooks read and edit (internal/reqctx), and Lua (lua).
//
// # Phases and order (shared/reference/apisix.md §5.1)
//
// rewrite → access → before_proxy → header_filter → body_filter → log. The
// engine runs global rules' chain before the route's in every phase; within
// a chain, hooks run by descending priority (_meta.priority overrides the
// plugin's). A route's chain merges, for a plugin present in several places,
// route > plugin_config > service; after an auth plugin identified a
// consumer, the consumer's and its group's plugins are merged over it
// (consumer > consumer_group > route), once per (route chain, consumer) per
// loop (MergeConsumer), and the newly added plugins run their rewrite hook.
// _meta.disable leaves a plugin out, _meta.filter skips it for requests its
// expression rejects, _meta.error_response replaces the body of the answer
// it exits with.
//
// # Auth plugins
//
// Auth plugins (Def.Auth) index their consumer-side confs by the key a
// request presents (Def.NewConsumer, Index) and, in rewrite, find the
// credential (FindCredential) and attach its consumer the way APISIX's
// consumer.attach_consumer does (AttachConsumer, AttachAnonymous: the
// consumer plus X-Consumer-Username, X-Credential-Identifier and
// X-Consumer-Custom-ID upstream), or answer as APISIX does when none
// matched (Unauthenticated: 401 with the challenge, or the
// anonymous_consumer). What they share besides lives here too: the realm
// and anonymous_consumer schema fragments (RealmSchema,
// AnonymousConsumerSchema), query arguments read as ngx.req.get_uri_args
// reads them (URIArg, WithoutURIArg) and $env:// secret references
// (ResolveSecret). Their lua-cjson exit bodies come from internal/cjson,
// which other plugins use as well.
//
// # Concurrency
//
// Defs and the Registry are immutable after start-up (Reload swaps the
// enabled set atomically). A Chain and the plugin instances in it are
// immutable and shared by every loop; state a plugin keeps across requests
// lives in its own per-loop storage (reqctx.LocalKey) or in process-wide
// structures it synchronises itself (limit counters), keyed so it survives
// recompiles of an unchanged conf.
package plugin
