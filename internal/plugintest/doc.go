// Package plugintest is the test support every plugin package uses to test
// its hooks without the engine:
//
//   - request contexts built from raw request text (NewCtx, NewCtxOn a
//     shared loop, NewCtxWith a snapshot's Config, Reset, SetRemote, and
//     Replay for allocation tests and benchmarks);
//   - confs checked and compiled through the real registry (schema,
//     defaults, Check, New): one plugin's conf (Chain, Compile, Check), or a
//     route's plugins on a registry of several (Registry, RouteChain); a
//     conf checked as stored (Checked, CheckAs for consumer and metadata
//     schemas) and handed to a plugin's own compile (Instance);
//   - a snapshot's consumers and credentials written as APISIX's JSON
//     (Consumer, Credential), built with its consumer groups and plugin
//     metadata into the Index a Ctx's Config serves (Index);
//   - the phases run as the engine runs them (Rewrite, Request,
//     HeaderFilter, Body, with upstream responses from raw text, Upstream),
//     and the allocations of a replayed rewrite (RewriteAllocs);
//   - what the engine would send, rendered as text to compare: the
//     upstream request (UpstreamHead, UpstreamInOrder), the answer a
//     plugin ended a request with (Exit), and the outcome the auth plugins'
//     table tests check (ExpectAuthOutcome);
//   - for the limit plugins, a manual Clock and a throwaway redis-server
//     (Redis).
//
// It is for tests only; nothing in the gateway imports it. A Ctx it builds
// is backed by a reqctx.Loop of its own unless given one and, like any, is
// loop-only.
package plugintest
