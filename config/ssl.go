package config

import (
	"crypto/tls"
	"strings"
)

// SSL is an APISIX ssl object: a certificate (or several) and the SNIs it
// serves, or a client certificate for upstream mTLS (type "client"). The
// private keys are stored encrypted with the keyring.
type SSL struct {
	ID ID `json:"id,omitzero"`
	Meta
	Type          string     `json:"type,omitempty"`
	Cert          string     `json:"cert,omitempty"`
	Key           string     `json:"key,omitempty"`
	Certs         []string   `json:"certs,omitempty"`
	Keys          []string   `json:"keys,omitempty"`
	SNI           string     `json:"sni,omitempty"`
	SNIs          []string   `json:"snis,omitempty"`
	Client        *SSLClient `json:"client,omitempty"`
	SSLProtocols  []string   `json:"ssl_protocols,omitempty"`
	Status        *int       `json:"status,omitempty"`
	ValidityStart int64      `json:"validity_start,omitempty"`
	ValidityEnd   int64      `json:"validity_end,omitempty"`
}

// SSLClient is the client-certificate verification part of an ssl object.
type SSLClient struct {
	CA               string   `json:"ca"`
	Depth            int      `json:"depth,omitempty"`
	SkipMTLSURIRegex []string `json:"skip_mtls_uri_regex,omitempty"`
}

// ObjectID implements Object.
func (s *SSL) ObjectID() string { return s.ID.S }

// ServerNames returns sni or snis, lower-cased.
func (s *SSL) ServerNames() []string {
	names := s.SNIs
	if s.SNI != "" {
		names = []string{s.SNI}
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// Certificates decrypts the private keys with kr and pairs each with its
// certificate. It is the check APISIX makes on write ("failed to handle
// cert-key pair") and what a TLS listener will load.
func (s *SSL) Certificates(kr *Keyring) ([]tls.Certificate, error) {
	if len(s.Certs) != len(s.Keys) {
		return nil, invalidf("mismatched length between certs and keys")
	}
	pairs := [][2]string{{s.Cert, s.Key}}
	for i := range s.Certs {
		pairs = append(pairs, [2]string{s.Certs[i], s.Keys[i]})
	}
	out := make([]tls.Certificate, 0, len(pairs))
	for i, p := range pairs {
		c, err := tls.X509KeyPair([]byte(p[0]), []byte(kr.Decrypt(p[1])))
		if err != nil {
			if i == 0 {
				return nil, invalidf("failed to handle cert-key pair: %w", err)
			}
			return nil, invalidf("failed to handle cert-key pair[%d]: %w", i-1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func decodeSSL(id string, raw []byte) (Object, error) {
	var s SSL
	if err := unmarshal(raw, &s); err != nil {
		return nil, err
	}
	s.ID = ID{S: id}
	return &s, nil
}
