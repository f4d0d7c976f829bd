package config

import (
	"encoding/json"
	"fmt"
	"testing"
)

// The ciphertexts were made with openssl, independently of this code:
//
//	key=$(echo -n qeddd145sfvddff3 | xxd -p)
//	echo -n edd1c9f034335f136f87ad84b625c8f1 | openssl enc -aes-128-cbc -K $key -iv $key -base64 -A
func TestKeyringReadsWhatAPISIXWrites(t *testing.T) {
	kr, err := NewKeyring(DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ stored, plain string }{
		{"s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH", "edd1c9f034335f136f87ad84b625c8f1"}, // first key
		{"3KxZfy/YIZ/ejJTEIbS09g==", "secret"},                   // second key: rotation
		{"not-encrypted", "not-encrypted"},                       // written before encryption: kept
		{"AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAA=="}, // base64 but no key fits: kept
	} {
		if got := kr.Decrypt(tc.stored); got != tc.plain {
			t.Errorf("Decrypt(%q) = %q, want %q", tc.stored, got, tc.plain)
		}
	}
	if got := kr.Encrypt("edd1c9f034335f136f87ad84b625c8f1"); got != "s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH" {
		t.Errorf("Encrypt = %q, not what APISIX (openssl) writes", got)
	}
	for _, plain := range []string{"", "a", "0123456789abcdef", "0123456789abcdef0"} {
		if got := kr.Decrypt(kr.Encrypt(plain)); got != plain {
			t.Errorf("round trip of %q gave %q", plain, got)
		}
	}
}

func TestKeyringRejectsBadKeys(t *testing.T) {
	if _, err := NewKeyring([]string{"short"}); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	kr, err := NewKeyring(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := kr.Encrypt("x"); got != "x" {
		t.Errorf("an empty keyring encrypted: %q", got)
	}
}

func TestDecryptPluginsReadsAPISIXSecrets(t *testing.T) {
	kr, _ := NewKeyring(DefaultKeyring)
	p := Plugins{
		"key-auth":      json.RawMessage(`{"key": "s+PSqXUVJTsTIzWQ1xk1QahhywKxk3pzvWko/VIDzOLHMlbssLkJzQFuzFWVXRAH"}`),
		"basic-auth":    json.RawMessage(`{"username": "u", "password": "plain, written before encryption"}`),
		"proxy-rewrite": json.RawMessage(`{"uri": "/x"}`),
	}
	got := kr.DecryptPlugins(p)
	var ka struct{ Key string }
	if err := json.Unmarshal(got["key-auth"], &ka); err != nil || ka.Key != "edd1c9f034335f136f87ad84b625c8f1" {
		t.Fatalf("key-auth key: %q %v", ka.Key, err)
	}
	if string(got["basic-auth"]) != string(p["basic-auth"]) || string(got["proxy-rewrite"]) != `{"uri": "/x"}` {
		t.Fatalf("untouched confs changed: %s", got)
	}
	if string(p["key-auth"]) == string(got["key-auth"]) {
		t.Fatal("the input was not copied")
	}
	var nothing Plugins = Plugins{"basic-auth": p["basic-auth"]}
	if fmt.Sprintf("%p", kr.DecryptPlugins(nothing)) != fmt.Sprintf("%p", nothing) {
		t.Fatal("a map with nothing to decrypt was copied")
	}
}
