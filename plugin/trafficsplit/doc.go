// Package trafficsplit is APISIX's traffic-split plugin (priority 966,
// access phase; apisix/plugins/traffic-split.lua, 3.18): it sends a
// request to one of several upstreams, by rules.
//
//   - rules are tried in order. Before a rule is tried, every upstream_id
//     it names must exist: a missing one answers 500 with APISIX's body
//     "failed to fetch upstream info by upstream id: <id>". A rule without
//     match is taken; otherwise the rule is taken when any of its match
//     entries' vars (lua-resty-expr, compiled once) holds. When no rule is
//     taken the route's own upstream serves the request.
//   - The taken rule's weighted_upstreams are picked by weighted round
//     robin, resty.roundrobin's algorithm (interleaved by the weights' gcd;
//     weight 0 is never picked unless every weight is 0). An entry is an
//     upstream_id, an inline upstream, or only a weight: the route's own
//     upstream. As in APISIX, entries naming the same upstream_id (or
//     several weight-only entries) are one, with the last weight.
//   - An inline upstream keeps APISIX's plugin subset of upstream fields
//     (name, type, nodes, hash_on, key, pass_host, upstream_host, timeout,
//     scheme; others, such as checks or retries, are dropped as
//     traffic-split.lua drops them) and is compiled once, with the conf,
//     by the config builder (plugin.Env.Upstreams); upstream_ids are looked
//     up there too, and the builder recompiles the route when one of them
//     changes, so the pick follows the upstream. The request is pointed at
//     the pick with reqctx.Ctx.SetUpstream.
//
// # State
//
// The round robin's position is per event loop (no lock), in the loop's
// plugin storage, keyed by the rule's identity (its route, index and
// weighted_upstreams), so a route recompiled with the same rule (its
// upstream changed) keeps its position. Each loop starts a rule at a
// random entry, as resty.roundrobin does. A loop forgets every position
// once it holds more than maxPositions rules' (config churn).
//
// # Deliberate differences from APISIX
//
//   - An inline upstream sluice cannot run (a scheme other than http, for
//     now) answers 500 with the reason when picked; APISIX's check of the
//     generated upstream fails the same way, for other reasons.
//   - In a global rule or on a consumer the plugin cannot name upstreams
//     (the config builder offers none there): such an entry answers 500
//     when picked. APISIX resolves them against the matched route.
//   - rules: [] answers 500 with nginx's page: APISIX's roundrobin fails
//     on the missing upstream list the same way, with a Lua error.
package trafficsplit
