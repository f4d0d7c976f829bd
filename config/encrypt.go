package config

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
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
