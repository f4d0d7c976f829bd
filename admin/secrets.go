package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/config"
)

// Plugin secrets and credentials at the Admin API, as APISIX 3.18's
// apisix/admin/{resource,consumers,credentials}.lua and apisix/consumer.lua
// handle them:
//
//   - every write encrypts the fields each plugin lists in encrypt_fields
//     (config.Keyring.EncryptObject) once the object passed its checks, so
//     etcd holds what an APISIX would have stored, and the write's answer
//     shows the stored value; GET answers decrypt them again; PATCH
//     decrypts the stored object before merging into it, so a patched
//     object is not encrypted twice;
//   - a credential may hold only auth plugins;
//   - a consumer or credential may not reuse the key of an auth plugin
//     another consumer or credential holds (key-auth's key, basic-auth's
//     username, ...): the data plane could not tell them apart.

// authCatalog is the part of the plugin registry that knows which plugins
// are auth plugins; Options.Plugins has it when it is the registry.
type authCatalog interface {
	IsAuth(name string) bool
}

// checkCredentialPlugins refuses a credential holding a plugin that is not
// an auth plugin (credentials.lua check_conf).
func (s *Server) checkCredentialPlugins(conf map[string]any) error {
	ac, ok := s.o.Plugins.(authCatalog)
	if !ok {
		return nil
	}
	plugins, _ := conf["plugins"].(map[string]any)
	for _, name := range sortedKeys(plugins) {
		if !ac.IsAuth(name) {
			return apiErr(http.StatusBadRequest, "only supports auth type plugins in consumer credential")
		}
	}
	return nil
}

// uniqueKeyAttrs are the auth plugins that find a consumer by one field of
// its conf, and that field (consumer.lua plugin_unique_key_attrs).
var uniqueKeyAttrs = map[string]string{
	"key-auth":           "key",
	"basic-auth":         "username",
	"jwt-auth":           "key",
	"hmac-auth":          "key_id",
	"ldap-auth":          "user_dn",
	"ldap-auth-advanced": "user_dn",
}

// checkDuplicateKeys refuses a consumer (credID "") or credential whose
// auth plugins' keys another consumer or credential already holds
// (consumer.lua check_duplicate_key). A consumer does not conflict with
// itself or its own credentials; a credential only with itself. Secret
// references are skipped: their values are not known when writing. Unlike
// APISIX, which consults the consumers its worker has synced (so a
// duplicate written a moment earlier can slip through), this reads etcd.
func (s *Server) checkDuplicateKeys(ctx context.Context, consumer, credID string, conf map[string]any) error {
	plugins, _ := conf["plugins"].(map[string]any)
	type want struct{ plugin, attr, value string }
	var wants []want
	for _, name := range sortedKeys(plugins) {
		attr, ok := uniqueKeyAttrs[name]
		if !ok {
			continue
		}
		pc, _ := plugins[name].(map[string]any)
		if v, ok := pc[attr].(string); ok && !isSecretRef(v) {
			wants = append(wants, want{name, attr, v})
		}
	}
	if len(wants) == 0 {
		return nil
	}
	dir := s.o.Prefix + "/consumers/"
	resp, err := s.o.Client.Get(ctx, dir, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	kr := s.o.Pipeline.Keyring
	for _, w := range wants {
		for _, kv := range resp.Kvs {
			owner, ownerCred, kind := ownerOf(strings.TrimPrefix(string(kv.Key), dir))
			if kind == nil {
				continue
			}
			if owner == consumer && (credID == "" || ownerCred == credID) {
				continue // itself (or, for a consumer, its own credentials)
			}
			var stored struct {
				Plugins map[string]any `json:"plugins"`
			}
			if json.Unmarshal(kv.Value, &stored) != nil {
				continue
			}
			obj := map[string]any{"plugins": stored.Plugins}
			kr.DecryptObject(kind, owner, obj)
			pc, _ := stored.Plugins[w.plugin].(map[string]any)
			if v, ok := pc[w.attr].(string); !ok || v != w.value {
				continue
			}
			desc := "consumer: " + owner
			if ownerCred != "" {
				desc = "credential: " + ownerCred + " of consumer: " + owner
			}
			return apiErr(http.StatusBadRequest, "duplicate %s of plugin %s found with %s", w.attr, w.plugin, desc)
		}
	}
	return nil
}

// ownerOf reads a key below <prefix>/consumers/: a consumer ("jack") or
// one of its credentials ("jack/credentials/c1"); kind is nil for anything
// else.
func ownerOf(rel string) (consumer, credID string, kind *config.Kind) {
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return parts[0], "", config.Consumers
	case len(parts) == 3 && parts[1] == "credentials" && parts[2] != "":
		return parts[0], parts[2], config.Credentials
	}
	return "", "", nil
}

// isSecretRef is apisix/secret.lua is_secret_ref for a string.
func isSecretRef(v string) bool {
	return strings.HasPrefix(v, "$secret://") || len(v) >= 7 && strings.EqualFold(v[:7], "$env://")
}

// shown is a stored value as a GET answers it: plugin secrets decrypted,
// and ssl private keys never sent back. key is the object's etcd key.
func (s *Server) shown(k *config.Kind, key string, value []byte) json.RawMessage {
	if k == config.SSLs {
		return hideKeys(value)
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber() // numbers are shown as stored
	var obj map[string]any
	if dec.Decode(&obj) != nil || obj == nil {
		return value
	}
	id := key[strings.LastIndexByte(key, '/')+1:]
	if !s.o.Pipeline.Keyring.DecryptObject(k, id, obj) {
		return value
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return value
	}
	return b
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
