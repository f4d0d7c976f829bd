package plugintest

import (
	"encoding/json"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/plugin"
)

// Consumer decodes a consumer written as APISIX's JSON.
func Consumer(t testing.TB, js string) *config.Consumer {
	t.Helper()
	var c config.Consumer
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("consumer %s: %v", js, err)
	}
	return &c
}

// Credential decodes a credential of consumer written as APISIX's JSON.
func Credential(t testing.TB, consumer, js string) *config.Credential {
	t.Helper()
	var c config.Credential
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("credential %s: %v", js, err)
	}
	c.Consumer = consumer
	return &c
}

// Index builds a snapshot's consumers, credentials, consumer groups and
// plugin metadata on r, for a Ctx's Config, and fails t on any problem
// BuildIndex reports (a conf that does not compile, a duplicate key): a
// test of those problems calls BuildIndex itself.
func Index(t testing.TB, r *plugin.Registry, in plugin.IndexInput) *plugin.Index {
	t.Helper()
	idx, problems := r.BuildIndex(in)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return idx
}
