// Package prometheus is APISIX's prometheus plugin (apisix/plugins/
// prometheus.lua and prometheus/exporter.lua; priority 500, run policy
// prefer_route): per-request metrics counted in the log phase, and the
// Collector that exposes them with the Prometheus client library.
//
// # Metrics
//
// APISIX's names (prefix plugin_attr.prometheus.metric_prefix, default
// "apisix_"), help texts, labels and latency buckets (milliseconds: 1, 2,
// 5, …, 60000):
//
//   - http_status{code, route, matched_uri, matched_host, service,
//     consumer, node, request_type, request_llm_model, llm_model,
//     response_source} counter;
//   - http_latency{type="request"|"upstream"|"apisix", route, service,
//     consumer, node, request_type, request_llm_model, llm_model}
//     histogram (upstream only for requests that were proxied; apisix is
//     request minus upstream, never negative);
//   - bandwidth{type="ingress"|"egress", …} counter: $request_length and
//     $bytes_sent;
//   - http_requests_total (every request the engine finished, counted by
//     CountRequest from the node's request log), nginx_http_current_
//     connections{state="active"}, etcd_reachable and etcd_modify_indexes
//     (for an etcd config source), node_info{hostname, version}.
//
// route is the route id (its name with prefer_name), empty for unmatched
// requests; service likewise; consumer is the authenticated consumer's
// name; node is the picked node's host; request_type is
// "traditional_http" and the llm labels are empty, as APISIX writes them
// for plain HTTP. plugin_metadata/prometheus's disabled_labels blanks
// labels per metric, as in APISIX 3.18.
//
// # Counting without locks
//
// Each event loop counts into its own shard (a reqctx.LocalKey): series
// are looked up in the loop's own maps by a small comparable key of the
// snapshot's strings (no allocation once a label set was seen) and
// incremented with atomic adds on memory only that loop writes, so loops
// never share a cache line. A loop publishes its list of series through an
// atomic pointer when it adds one (copy-on-write of the slice header; the
// series themselves never move). Scrapes read every shard's published
// lists and add them up; nothing is rendered by hand: the Collector feeds
// client_golang, whose promhttp handler writes the exposition. Shards live
// as long as the process (STYLE rule 18): a recompiled conf, or a new
// config version, counts on.
//
// # Deliberate differences
//
//   - The exposition is client_golang's: labels are written sorted by
//     name, not in APISIX's declared order (Prometheus reads them the
//     same; a regular expression over the text may not), and the scrape
//     negotiates the format (text 0.0.4 by default, protobuf or
//     OpenMetrics when asked).
//   - node is the node's host as configured (APISIX's balancer_ip is the
//     resolved address; they differ for nodes named by host name).
//   - The upstream latency of a request retried on several nodes is the
//     sum of the attempts ($upstream_response_time lists them all).
//   - Metrics are computed at each scrape, not re-rendered every
//     refresh_interval (15 s) from a cache. extra_labels, expire,
//     default_buckets and the stream, LLM, AI-cache, upstream health,
//     shared-dict and batch-processor metrics are not implemented; nor are
//     nginx's accepted/handled/reading/writing/waiting connection states.
//   - The exporter serves only with enable_export_server (the default);
//     with it off APISIX exposes the URI through public-api, which sluice
//     does not have.
package prometheus
