package config

import "testing"

// loadRouteBench is a route of issue 13's 1M-route table (bench/propagation
// writes a million of them): the shape the fast decoder is for.
var loadRouteBench = []byte(`{"id": "123456", "uri": "/svc56/api/v1/res123456", "methods": ["GET"], "upstream_id": "a", "priority": 0, "status": 1}`)

// BenchmarkLoadRoute is one route through the pipeline as a source loads
// it (issue 13's 1M-route load runs this a million times): decode, schema,
// typed route.
func BenchmarkLoadRoute(b *testing.B) {
	var p Pipeline
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Load(Routes, "123456", loadRouteBench); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadRouteInto is BenchmarkLoadRoute as sync's Builder.Decode
// runs it: into one reused Route, so what is left is what the route keeps.
func BenchmarkLoadRouteInto(b *testing.B) {
	var p Pipeline
	var r Route
	b.ReportAllocs()
	for b.Loop() {
		if err := p.LoadRoute("123456", loadRouteBench, &r); err != nil {
			b.Fatal(err)
		}
	}
}
