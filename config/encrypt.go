package config

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
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

// encryptedPluginFields are the conf fields APISIX stores encrypted, per
// plugin (each plugin's encrypt_fields).
var encryptedPluginFields = map[string][]string{
	"key-auth":    {"key"},
	"basic-auth":  {"password"},
	"jwt-auth":    {"secret", "private_key"},
	"hmac-auth":   {"secret_key"},
	"csrf":        {"key"},
	"limit-count": {"redis_password"},
	"limit-req":   {"redis_password"},
	"limit-conn":  {"redis_password"},
	"ldap-auth":   {"bind_password"},
}

// DecryptPlugins returns p with the fields APISIX stores encrypted
// decrypted, so what an APISIX control plane wrote reads as plain
// configuration; p itself is not modified. A conf that is not an object is
// left alone (validation reports it).
func (kr *Keyring) DecryptPlugins(p Plugins) Plugins {
	var out Plugins
	for name, raw := range p {
		fields := encryptedPluginFields[name]
		if len(fields) == 0 {
			continue
		}
		var conf map[string]json.RawMessage
		if json.Unmarshal(raw, &conf) != nil {
			continue
		}
		changed := false
		for _, f := range fields {
			var v string
			if json.Unmarshal(conf[f], &v) != nil {
				continue
			}
			if plain := kr.Decrypt(v); plain != v {
				conf[f], _ = json.Marshal(plain)
				changed = true
			}
		}
		if !changed {
			continue
		}
		if out == nil {
			out = maps.Clone(p)
		}
		out[name], _ = json.Marshal(conf)
	}
	if out == nil {
		return p
	}
	return out
}

// decryptSecrets decrypts, in place, the encrypted plugin fields of a
// freshly decoded object (one not yet shared with anything).
func decryptSecrets(obj Object, kr *Keyring) {
	switch o := obj.(type) {
	case *Route:
		o.Plugins = kr.DecryptPlugins(o.Plugins)
		o.Upstream.decryptKey(kr)
	case *Service:
		o.Plugins = kr.DecryptPlugins(o.Plugins)
		o.Upstream.decryptKey(kr)
	case *Upstream:
		o.decryptKey(kr)
	case *Consumer:
		o.Plugins = kr.DecryptPlugins(o.Plugins)
	case *Credential:
		o.Plugins = kr.DecryptPlugins(o.Plugins)
	case *PluginSet:
		o.Plugins = kr.DecryptPlugins(o.Plugins)
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
