package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/testcert"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeConf(t *testing.T, config, routes string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if routes != "" {
		if err := os.WriteFile(filepath.Join(dir, "apisix.yaml"), []byte(routes), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "config.yaml")
}

const standalone = "deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n"

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runCLI("version"); code != 0 || !strings.HasPrefix(out, "sluice "+version) {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errs := runCLI("frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
	if code, _, errs := runCLI(); code != 2 || !strings.Contains(errs, "usage") {
		t.Fatalf("no command: %d %q", code, errs)
	}
	if code, _, _ := runCLI("run", "-no-such-flag"); code != 2 {
		t.Fatalf("bad flag: exit %d, want 2", code)
	}
}

func TestValidateEtcdConfig(t *testing.T) {
	path := writeConf(t, "deployment:\n  etcd:\n    host: [\"http://10.1.1.1:2379\"]\n    prefix: /gw\n", "")
	if code, out, errs := runCLI("validate", "-c", path); code != 0 || !strings.Contains(out, "config from etcd [http://10.1.1.1:2379], prefix /gw") {
		t.Fatalf("%d %q %q", code, out, errs)
	}
}

func TestValidate(t *testing.T) {
	good := writeConf(t, standalone, "routes:\n  - uri: /a\n    upstream:\n      nodes:\n        \"127.0.0.1:1\": 1\n#END\n")
	if code, out, errs := runCLI("validate", "-c", good); code != 0 || !strings.Contains(out, "ok (1 objects") {
		t.Fatalf("good config: %d %q %q", code, out, errs)
	}
	for _, tc := range []struct{ name, config, routes, want string }{
		{"missing-end", standalone, "routes: []\n", "missing valid end flag #END"},
		{"bad-route", standalone, "routes:\n  - uri: /a\n#END\n", "routes[0]"},
		{"unknown-field", standalone, "routes:\n  - uri: /a\n    upstream_idd: 1\n#END\n", "additional properties forbidden, found upstream_idd"},
		{"ipv6-unbracketed", standalone, "routes:\n  - uri: /a\n    upstream:\n      nodes:\n        \"::1:80\": 1\n#END\n", "IPv6 address must be enclosed"},
		{"bad-role", "deployment:\n  role: bogus\n", "", "deployment.role"},
		{"bad-listen", "apisix:\n  node_listen: 99999\n" + standalone, "routes: []\n#END\n", "node_listen"},
		{"bad-keyring", "apisix:\n  data_encryption:\n    keyring: [tooshort]\n", "", "16 or 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI("validate", "-c", writeConf(t, tc.config, tc.routes))
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errs, tc.want)
			}
		})
	}
}

// validate checks apisix.yaml as the running node reads it: ssl keys are
// decrypted with config.yaml's keyring and must pair with their
// certificates.
func TestValidateSSL(t *testing.T) {
	cert, key := testcert.Pair(t, "test.com")
	_, otherKey := testcert.Pair(t, "test.com")
	kr, err := config.NewKeyring(config.DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	ssl := func(k string) string {
		b, err := json.Marshal(map[string]any{"id": 1, "cert": cert, "key": k, "sni": "test.com"})
		if err != nil {
			t.Fatal(err)
		}
		return "ssls:\n  - " + string(b) + "\n#END\n"
	}
	if code, out, errs := runCLI("validate", "-c", writeConf(t, standalone, ssl(kr.Encrypt(key)))); code != 0 {
		t.Fatalf("an encrypted key that pairs: %d %q %q", code, out, errs)
	}
	code, _, errs := runCLI("validate", "-c", writeConf(t, standalone, ssl(otherKey)))
	if want := "ssls[0]: failed to handle cert-key pair: tls: private key does not match public key"; code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("a key that does not pair: exit %d, stderr %q; want 1 and %q", code, errs, want)
	}
}
