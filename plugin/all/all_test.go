package all

import (
	"slices"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/plugin"
)

// A plugin's EncryptFields must be what config encrypts and decrypts for
// it (APISIX's encrypt_fields of the schema that holds them: an auth
// plugin's consumer schema, otherwise its conf schema): the Admin API and
// the data plane use config's table, and a field missing there would be
// stored in the clear, or not decrypted.
func TestEncryptFieldsAgreeWithConfig(t *testing.T) {
	for _, d := range plugin.Catalog() {
		kind := config.Routes
		if d.Auth && d.ConsumerSchema != "" {
			kind = config.Consumers
		}
		got := slices.Sorted(slices.Values(config.SecretFields(kind, d.Name)))
		want := slices.Sorted(slices.Values(d.EncryptFields))
		if !slices.Equal(got, want) {
			t.Errorf("%s: config encrypts %v, the plugin declares %v", d.Name, got, want)
		}
	}
}
