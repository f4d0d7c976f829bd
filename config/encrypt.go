package config

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
)

// DefaultKeyring is APISIX's default apisix.data_encryption.keyring: data an
// APISIX control plane wrote with default settings decrypts with it.
var DefaultKeyring = []string{"qeddd145sfvddff3", "edd1c9f0985e76a2"}

// Keyring encrypts and decrypts secret fields the way APISIX stores them in
// etcd: base64(AES-CBC(value)) with PKCS#7 padding, the key a keyring
// entry (16 bytes: AES-128, 32 bytes: AES-256) and the IV its first 16
// bytes. Encryption uses the first entry; decryption tries every entry, so
// keys can be rotated by prepending a new one.
type Keyring struct {
	blocks []cipher.Block
	ivs    [][]byte
}

// NewKeyring builds a keyring. An empty list yields a keyring that stores
// values in the clear.
func NewKeyring(keys []string) (*Keyring, error) {
	kr := &Keyring{}
	for i, k := range keys {
		if len(k) != 16 && len(k) != 32 {
			return nil, fmt.Errorf("%w: data_encryption.keyring[%d]: a key must be 16 or 32 bytes, got %d", ErrInvalid, i, len(k))
		}
		b, err := aes.NewCipher([]byte(k))
		if err != nil {
			return nil, err
		}
		kr.blocks = append(kr.blocks, b)
		kr.ivs = append(kr.ivs, []byte(k[:aes.BlockSize]))
	}
	return kr, nil
}

// Encrypt returns value encrypted with the first key, or value itself when
// the keyring is empty.
func (kr *Keyring) Encrypt(value string) string {
	if kr == nil || len(kr.blocks) == 0 {
		return value
	}
	pad := aes.BlockSize - len(value)%aes.BlockSize
	buf := append([]byte(value), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(kr.blocks[0], kr.ivs[0]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// Decrypt returns the plain text of value, trying every key. A value no key
// decrypts is returned unchanged, as APISIX does: fields written before
// encryption was enabled stay readable.
func (kr *Keyring) Decrypt(value string) string {
	if kr == nil || len(kr.blocks) == 0 {
		return value
	}
	data, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return value
	}
	buf := make([]byte, len(data))
	for i, b := range kr.blocks {
		cipher.NewCBCDecrypter(b, kr.ivs[i]).CryptBlocks(buf, data)
		if plain, ok := unpad(buf); ok {
			return string(plain)
		}
	}
	return value
}

func unpad(b []byte) ([]byte, bool) {
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize || n > len(b) {
		return nil, false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}

// secretFields are a plugin's encrypt_fields in APISIX 3.18, per schema:
// conf is the schema of its conf on routes, services, plugin configs,
// consumer groups and global rules; consumer that of an auth plugin's conf
// on a consumer or credential (consumer_schema; a plugin without one uses
// conf there too); metadata that of plugin_metadata. A field is a dotted
// path: it descends into objects, and into each element of an array; the
// value at its end is a string, or an array or object of strings.
type secretFields struct {
	conf, consumer, metadata []string
	hasConsumerSchema        bool
}

// pluginSecrets is every APISIX 3.18 plugin's encrypt_fields
// (apisix/plugins/*.lua), whether sluice runs the plugin or not: what an
// APISIX control plane stored encrypted must read as plain text here, and
// what sluice's Admin API writes must read as plain text in an APISIX.
var pluginSecrets = map[string]secretFields{
	"key-auth":            {consumer: []string{"key"}, hasConsumerSchema: true},
	"basic-auth":          {consumer: []string{"password"}, hasConsumerSchema: true},
	"jwt-auth":            {consumer: []string{"secret"}, hasConsumerSchema: true},
	"hmac-auth":           {consumer: []string{"secret_key"}, hasConsumerSchema: true},
	"jwe-decrypt":         {consumer: []string{"key", "secret"}, hasConsumerSchema: true},
	"ldap-auth":           {hasConsumerSchema: true},
	"ldap-auth-advanced":  {conf: []string{"ldap_password"}, hasConsumerSchema: true},
	"csrf":                {conf: []string{"key"}},
	"limit-count":         {conf: []string{"redis_password", "sentinel_password"}},
	"graphql-limit-count": {conf: []string{"redis_password", "sentinel_password", "introspection_headers"}},
	"limit-req":           {conf: []string{"redis_password"}},
	"limit-conn":          {conf: []string{"redis_password"}},
	"ai-rate-limiting":    {conf: []string{"redis_password", "sentinel_password"}},
	"ai-cache": {conf: []string{"redis_password", "semantic.embedding.openai.api_key",
		"semantic.embedding.azure_openai.api_key"}},
	"ai-lakera-guard": {conf: []string{"api_key"}},
	"ai-proxy": {conf: []string{"auth.header", "auth.query", "auth.gcp.service_account_json",
		"auth.aws.secret_access_key", "auth.aws.session_token"}},
	"ai-proxy-multi": {conf: []string{"instances.auth.header", "instances.auth.query",
		"instances.auth.gcp.service_account_json", "instances.auth.aws.secret_access_key",
		"instances.auth.aws.session_token", "semantic_opts.embeddings.auth.header",
		"semantic_opts.embeddings.auth.query"}},
	"ai-rag": {conf: []string{"embeddings_provider.azure_openai.api_key",
		"vector_search_provider.azure_ai_search.api_key"}},
	"ai-aliyun-content-moderation": {conf: []string{"access_key_secret"}},
	"ai-aws-content-moderation":    {conf: []string{"comprehend.secret_access_key"}},
	"authz-casdoor":                {conf: []string{"client_secret"}},
	"authz-keycloak":               {conf: []string{"client_secret"}},
	"aws-lambda":                   {conf: []string{"authorization.apikey", "authorization.iam.accesskey", "authorization.iam.secretkey"}},
	"azure-functions":              {conf: []string{"authorization.apikey"}, metadata: []string{"master_apikey"}},
	"cas-auth":                     {conf: []string{"cookie.secret"}},
	"clickhouse-logger":            {conf: []string{"password"}},
	"dingtalk-auth":                {conf: []string{"app_secret", "secret", "secret_fallbacks"}},
	"elasticsearch-logger":         {conf: []string{"auth.password", "headers"}},
	"error-log-logger":             {metadata: []string{"clickhouse.password", "kafka.brokers.sasl_config.password"}},
	"feishu-auth":                  {conf: []string{"app_secret", "secret", "secret_fallbacks"}},
	"google-cloud-logging":         {conf: []string{"auth_config.private_key"}},
	"http-logger":                  {conf: []string{"auth_header"}},
	"kafka-logger":                 {conf: []string{"brokers.sasl_config.password"}},
	"kafka-proxy":                  {conf: []string{"sasl.password"}},
	"lago":                         {conf: []string{"token"}},
	"loggly":                       {conf: []string{"customer_token"}},
	"loki-logger":                  {conf: []string{"headers"}},
	"openfunction":                 {conf: []string{"authorization.service_token"}},
	"openid-connect": {conf: []string{"client_secret", "client_rsa_private_key", "dpop.private_key",
		"session.secret", "session.redis.password"}},
	"openwhisk":          {conf: []string{"service_token"}},
	"rocketmq-logger":    {conf: []string{"secret_key"}},
	"saml-auth":          {conf: []string{"sp_private_key", "secret", "secret_fallbacks"}},
	"sls-logger":         {conf: []string{"access_key_secret"}},
	"splunk-hec-logging": {conf: []string{"endpoint.token"}},
	"tencent-cloud-cls":  {conf: []string{"secret_key"}},
}

// schemaSide is which of a plugin's schemas an object's conf follows.
type schemaSide uint8

const (
	confSide     schemaSide = iota // routes, services, plugin configs, consumer groups, global rules
	consumerSide                   // consumers and credentials (APISIX's TYPE_CONSUMER)
	metadataSide                   // plugin_metadata (TYPE_METADATA)
)

func sideOf(k *Kind) schemaSide {
	switch k {
	case Consumers, Credentials:
		return consumerSide
	case PluginMetadata:
		return metadataSide
	}
	return confSide
}

func (f secretFields) of(side schemaSide) []string {
	switch side {
	case consumerSide:
		if f.hasConsumerSchema {
			return f.consumer
		}
	case metadataSide:
		return f.metadata
	}
	return f.conf
}

// SecretFields returns the fields of the named plugin's conf that APISIX
// stores encrypted in an object of kind k (for plugin_metadata, of the
// metadata object), as dotted paths; nil when there are none.
func SecretFields(k *Kind, plugin string) []string {
	return pluginSecrets[plugin].of(sideOf(k))
}

// EncryptObject encrypts, in place, the secret plugin fields of an object
// of kind k as the Admin API stores it (decoded JSON): the confs in its
// "plugins", or for plugin_metadata the object itself, id naming the
// plugin. It is APISIX's encrypt_conf, run on every Admin API write once
// the object passed its checks. An empty keyring leaves obj alone
// (enable_encrypt_fields: false).
func (kr *Keyring) EncryptObject(k *Kind, id string, obj map[string]any) {
	kr.mapObject(k, id, obj, kr.Encrypt)
}

// DecryptObject undoes EncryptObject: for GET answers and before a PATCH
// merges into the stored object. Values no key decrypts stay as they are;
// it reports whether any value changed.
func (kr *Keyring) DecryptObject(k *Kind, id string, obj map[string]any) bool {
	return kr.mapObject(k, id, obj, kr.Decrypt)
}

func (kr *Keyring) mapObject(k *Kind, id string, obj map[string]any, f func(string) string) bool {
	if kr == nil || len(kr.blocks) == 0 {
		return false
	}
	changed := false
	side := sideOf(k)
	if side == metadataSide {
		for _, path := range pluginSecrets[id].of(side) {
			if mapField(obj, path, f) {
				changed = true
			}
		}
		return changed
	}
	plugins, _ := obj["plugins"].(map[string]any)
	for name, conf := range plugins {
		c, ok := conf.(map[string]any)
		if !ok {
			continue
		}
		for _, path := range pluginSecrets[name].of(side) {
			if mapField(c, path, f) {
				changed = true
			}
		}
	}
	return changed
}

// mapField applies f to the string(s) at path in conf, as APISIX's
// process_encrypt_field walks it, and reports whether any changed.
func mapField(conf map[string]any, path string, f func(string) string) bool {
	seg, rest, nested := strings.Cut(path, ".")
	v, ok := conf[seg]
	if !ok {
		return false
	}
	changed := false
	if !nested {
		switch x := v.(type) {
		case string:
			if y := f(x); y != x {
				conf[seg], changed = y, true
			}
		case []any:
			for i, e := range x {
				if s, ok := e.(string); ok {
					if y := f(s); y != s {
						x[i], changed = y, true
					}
				}
			}
		case map[string]any:
			for key, e := range x {
				if s, ok := e.(string); ok {
					if y := f(s); y != s {
						x[key], changed = y, true
					}
				}
			}
		}
		return changed
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok && mapField(m, rest, f) {
				changed = true
			}
		}
	case map[string]any:
		changed = mapField(x, rest, f)
	}
	return changed
}

// DecryptPlugins returns p, the plugins of a route, service, plugin
// config, consumer group or global rule, with the fields APISIX stores
// encrypted decrypted, so what an APISIX control plane wrote reads as plain
// configuration; p itself is not modified. A conf that is not an object is
// left alone (validation reports it).
func (kr *Keyring) DecryptPlugins(p Plugins) Plugins { return kr.decryptPlugins(confSide, p) }

func (kr *Keyring) decryptPlugins(side schemaSide, p Plugins) Plugins {
	if kr == nil || len(kr.blocks) == 0 {
		return p
	}
	var out Plugins
	for name, raw := range p {
		fields := pluginSecrets[name].of(side)
		if len(fields) == 0 {
			continue
		}
		plain, changed := decryptRaw(kr, raw, fields)
		if !changed {
			continue
		}
		if out == nil {
			out = maps.Clone(p)
		}
		out[name] = plain
	}
	if out == nil {
		return p
	}
	return out
}

// decryptRaw decrypts fields of one JSON object, numbers kept as written.
func decryptRaw(kr *Keyring, raw json.RawMessage, fields []string) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var conf map[string]any
	if dec.Decode(&conf) != nil || conf == nil {
		return raw, false
	}
	changed := false
	for _, path := range fields {
		if mapField(conf, path, kr.Decrypt) {
			changed = true
		}
	}
	if !changed {
		return raw, false
	}
	b, err := json.Marshal(conf)
	if err != nil {
		return raw, false
	}
	return b, true
}

// decryptSecrets decrypts, in place, the encrypted plugin fields of a
// freshly decoded object (one not yet shared with anything), with the
// schema side its kind implies.
func decryptSecrets(obj Object, kr *Keyring) {
	switch o := obj.(type) {
	case *Route:
		o.Plugins = kr.decryptPlugins(confSide, o.Plugins)
		o.Upstream.decryptKey(kr)
	case *Service:
		o.Plugins = kr.decryptPlugins(confSide, o.Plugins)
		o.Upstream.decryptKey(kr)
	case *Upstream:
		o.decryptKey(kr)
	case *PluginSet:
		o.Plugins = kr.decryptPlugins(confSide, o.Plugins)
	case *Consumer:
		o.Plugins = kr.decryptPlugins(consumerSide, o.Plugins)
	case *Credential:
		o.Plugins = kr.decryptPlugins(consumerSide, o.Plugins)
	case *Metadata:
		if fields := pluginSecrets[o.Plugin].metadata; len(fields) > 0 {
			o.Value, _ = decryptRaw(kr, o.Value, fields)
		}
	}
}

// decryptKey decrypts an upstream's mTLS client key, which APISIX stores
// encrypted with the keyring like an ssl object's keys (a key stored in
// the clear reads as is).
func (u *Upstream) decryptKey(kr *Keyring) {
	if u != nil && u.TLS != nil && u.TLS.ClientKey != "" {
		u.TLS.ClientKey = kr.Decrypt(u.TLS.ClientKey)
	}
}
