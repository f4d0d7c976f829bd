package prometheus

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sluicegw/sluice/plugin"
)

// metricDef is one of APISIX's metrics and its labels.
type metricDef struct {
	name       string
	labels     []string
	structural string // the label that cannot be disabled, if any
}

// metricLabels is APISIX's metric_label_map (exporter.lua): each metric's
// labels in order. Only the first three families exist in sluice; the
// others are listed so that a plugin_metadata written for APISIX validates
// the same way.
var metricLabels = []metricDef{
	{"http_status", []string{"code", "route", "matched_uri", "matched_host", "service", "consumer", "node",
		"request_type", "request_llm_model", "llm_model", "response_source"}, "code"},
	{"http_latency", []string{"type", "route", "service", "consumer", "node",
		"request_type", "request_llm_model", "llm_model"}, "type"},
	{"bandwidth", []string{"type", "route", "service", "consumer", "node",
		"request_type", "request_llm_model", "llm_model"}, "type"},
	{"llm_latency", []string{"type", "route_id", "service_id", "consumer", "node",
		"request_type", "request_llm_model", "llm_model"}, "type"},
	{"llm_prompt_tokens", []string{"route_id", "service_id", "consumer", "node",
		"request_type", "request_llm_model", "llm_model"}, ""},
	{"llm_completion_tokens", []string{"route_id", "service_id", "consumer", "node",
		"request_type", "request_llm_model", "llm_model"}, ""},
	{"llm_active_connections", []string{"route", "route_id", "matched_uri", "matched_host",
		"service", "service_id", "consumer", "node", "request_type", "request_llm_model", "llm_model"}, ""},
	{"llm_prompt_tokens_dist", []string{"route_id", "service_id", "consumer", "node",
		"request_type", "request_llm_model", "llm_model"}, ""},
	{"llm_completion_tokens_dist", []string{"route_id", "service_id", "consumer", "node",
		"request_type", "request_llm_model", "llm_model"}, ""},
	{"ai_cache_hits_total", []string{"layer", "route", "route_id", "service", "service_id",
		"consumer", "node", "request_type", "request_llm_model", "llm_model"}, "layer"},
	{"ai_cache_misses_total", []string{"route", "route_id", "service", "service_id",
		"consumer", "node", "request_type", "request_llm_model", "llm_model"}, ""},
	{"ai_cache_bypasses_total", []string{"route", "route_id", "service", "service_id",
		"consumer", "node", "request_type", "request_llm_model", "llm_model"}, ""},
	{"ai_cache_embedding_latency", []string{"route", "route_id", "service", "service_id",
		"consumer", "node", "request_type", "request_llm_model", "llm_model"}, ""},
}

// metadataSchema builds APISIX's metadata_schema: disabled_labels, per
// metric, the labels that are not structural.
func metadataSchema() string {
	props := map[string]any{}
	for _, m := range metricLabels {
		var enum []string
		for _, l := range m.labels {
			if l != m.structural {
				enum = append(enum, l)
			}
		}
		props[m.name] = map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": enum}}
	}
	s := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"disabled_labels": map[string]any{"type": "object", "properties": props, "additionalProperties": false},
		},
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "" // cannot happen: maps of strings
	}
	return string(b)
}

// labelMask says which labels of a label set are blanked.
type labelMask uint16

const (
	maskRoute labelMask = 1 << iota
	maskMatchedURI
	maskMatchedHost
	maskService
	maskConsumer
	maskNode
	maskResponseSource
	maskRequestType
)

var maskOf = map[string]labelMask{
	"route": maskRoute, "matched_uri": maskMatchedURI, "matched_host": maskMatchedHost,
	"service": maskService, "consumer": maskConsumer, "node": maskNode, "response_source": maskResponseSource,
	"request_type": maskRequestType,
}

// metadata is plugin_metadata/prometheus compiled: the labels disabled per
// family (APISIX writes a disabled label's value as "").
type metadata struct {
	status, latency, bandwidth labelMask
}

func newMetadata(raw []byte) (any, error) {
	var conf struct {
		DisabledLabels map[string][]string `json:"disabled_labels"`
	}
	if err := plugin.Decode(raw, &conf); err != nil {
		return nil, err
	}
	md := &metadata{}
	for name, labels := range conf.DisabledLabels {
		var m labelMask
		for _, l := range labels {
			m |= maskOf[l] // the llm labels are always "" here
		}
		switch name {
		case "http_status":
			md.status = m
		case "http_latency":
			md.latency = m
		case "bandwidth":
			md.bandwidth = m
		default:
			if !slices.ContainsFunc(metricLabels, func(d metricDef) bool { return d.name == name }) {
				return nil, fmt.Errorf("prometheus: disabled_labels: unknown metric %q", name)
			}
		}
	}
	return md, nil
}

// apply blanks the labels of l that m disables and reports whether it
// disables request_type.
func (m labelMask) apply(l *seriesLabels) (noType bool) {
	if m == 0 {
		return false
	}
	if m&maskRoute != 0 {
		l.route = ""
	}
	if m&maskService != 0 {
		l.service = ""
	}
	if m&maskConsumer != 0 {
		l.consumer = ""
	}
	if m&maskNode != 0 {
		l.node = ""
	}
	return m&maskRequestType != 0
}

// applyStatus is apply for apisix_http_status, which has three labels more.
func (m labelMask) applyStatus(k *statusKey) {
	if m == 0 {
		return
	}
	k.noType = m.apply(&k.seriesLabels)
	if m&maskMatchedURI != 0 {
		k.matchedURI = ""
	}
	if m&maskMatchedHost != 0 {
		k.matchedHost = ""
	}
	if m&maskResponseSource != 0 {
		k.source = srcBlank
	}
}
