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

// Index builds a snapshot's consumers and credentials on r, for a Ctx's
// Config; problems (bad confs, duplicate keys) are returned for the test
// to check.
func Index(t testing.TB, r *plugin.Registry, consumers []*config.Consumer, creds []*config.Credential) (*plugin.Index, []error) {
	t.Helper()
	return r.BuildIndex(plugin.IndexInput{Consumers: consumers, Credentials: creds, Groups: map[string]*config.PluginSet{}})
}
