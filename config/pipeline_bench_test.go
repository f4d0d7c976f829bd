package config

import "testing"

// BenchmarkLoadRoute is one route through the pipeline as a source loads
// it (issue 13's 1M-route load runs this a million times): decode, schema,
// typed route.
func BenchmarkLoadRoute(b *testing.B) {
	raw := []byte(`{"id": "123456", "uri": "/svc56/api/v1/res123456", "methods": ["GET"], "upstream_id": "a", "priority": 0, "status": 1}`)
	var p Pipeline
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Load(Routes, "123456", raw); err != nil {
			b.Fatal(err)
		}
	}
}
