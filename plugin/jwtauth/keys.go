package jwtauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"fmt"
	"hash"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/ngxbase64"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// credential is a consumer's or credential's compiled jwt-auth conf: the
// algorithm tokens must name and how to check their signature, with the
// key parsed once, here, rather than per request.
type credential struct {
	alg   string
	grace int64 // lifetime_grace_period, seconds
	// usable is false when the key cannot be used (a secret that is not
	// base64 with base64_secret, a public key that does not parse): every
	// token then fails with "failed to verify jwt", as in APISIX, which
	// accepts such a consumer too.
	usable bool
	// HS*: the HMAC's hash and key.
	hash   crypto.Hash
	secret []byte
	// The others: golang-jwt's signing method and the public key.
	method jwt.SigningMethod
	key    any
}

type consumerConf struct {
	Key                 string `json:"key"`
	Secret              string `json:"secret"`
	PublicKey           string `json:"public_key"`
	Algorithm           string `json:"algorithm"`
	Base64Secret        bool   `json:"base64_secret"`
	LifetimeGracePeriod int64  `json:"lifetime_grace_period"`
}

// newConsumer compiles a consumer's conf; requests are looked up by its key.
func newConsumer(raw []byte) (string, any, error) {
	var cf consumerConf
	if err := plugin.Decode(raw, &cf); err != nil {
		return "", nil, err
	}
	key, err := plugin.ResolveSecret(cf.Key)
	if err != nil {
		return "", nil, fmt.Errorf("jwt-auth: key: %w", err)
	}
	cred := &credential{alg: cf.Algorithm, grace: cf.LifetimeGracePeriod}
	method := jwt.GetSigningMethod(cf.Algorithm)
	if method == nil {
		return "", nil, fmt.Errorf("jwt-auth: algorithm %q is not supported", cf.Algorithm)
	}
	if hm, ok := method.(*jwt.SigningMethodHMAC); ok {
		secret, err := plugin.ResolveSecret(cf.Secret)
		if err != nil {
			return "", nil, fmt.Errorf("jwt-auth: secret: %w", err)
		}
		b := []byte(secret)
		ok := true
		if cf.Base64Secret {
			b, ok = ngxbase64.Decode(nil, b)
		}
		cred.hash, cred.secret, cred.usable = hm.Hash, b, ok && len(b) > 0
	} else {
		pem, err := plugin.ResolveSecret(cf.PublicKey)
		if err != nil {
			return "", nil, fmt.Errorf("jwt-auth: public_key: %w", err)
		}
		cred.method, cred.key = method, publicKey(cf.Algorithm, []byte(pem))
		cred.usable = cred.key != nil
	}
	return key, cred, nil
}

// publicKey parses the PEM a consumer's public_key holds for alg, nil if
// it does not parse. As openssl's pkey.new in APISIX, a private key is
// accepted too (its public half verifies) and so is a certificate.
func publicKey(alg string, pem []byte) any {
	switch alg[:2] {
	case "RS", "PS":
		if k, err := jwt.ParseRSAPublicKeyFromPEM(pem); err == nil {
			return k
		}
		if k, err := jwt.ParseRSAPrivateKeyFromPEM(pem); err == nil {
			return &k.PublicKey
		}
	case "ES":
		if k, err := jwt.ParseECPublicKeyFromPEM(pem); err == nil {
			return k
		}
		if k, err := jwt.ParseECPrivateKeyFromPEM(pem); err == nil {
			return &k.PublicKey
		}
	case "Ed":
		if k, err := jwt.ParseEdPublicKeyFromPEM(pem); err == nil {
			return k
		}
		if k, err := jwt.ParseEdPrivateKeyFromPEM(pem); err == nil {
			if s, ok := k.(crypto.Signer); ok {
				if pub, ok := s.Public().(ed25519.PublicKey); ok {
					return pub
				}
			}
		}
	}
	return nil
}

// hmacs is a loop's HMAC states, one per credential it has seen, so that
// checking an HS* token allocates nothing once the loop has seen the
// credential. Credentials are per snapshot: past maxHMACs the map starts
// over, which also drops those of snapshots gone by.
type hmacs struct {
	m   map[*credential]hash.Hash
	sum []byte
}

const maxHMACs = 1024

var hmacsKey = reqctx.NewLocalKey(func() any { return &hmacs{m: map[*credential]hash.Hash{}} })

// verify checks a token's signature (nil: not base64url) over input, on
// loop l. HS* signatures are computed with crypto/hmac and the hash
// golang-jwt's method names (its Verify allocates a fresh HMAC per call);
// the others go through golang-jwt's signing methods, plus the length
// APISIX's parser asserts for PS* signatures (256 bytes: it only verifies
// 2048-bit keys).
func (jc *credential) verify(l *reqctx.Loop, input, sig []byte) bool {
	if !jc.usable || sig == nil {
		return false
	}
	if jc.method == nil {
		hs := l.Local(hmacsKey).(*hmacs)
		mac := hs.m[jc]
		if mac == nil {
			if len(hs.m) >= maxHMACs {
				clear(hs.m)
			}
			mac = hmac.New(jc.hash.New, jc.secret)
			hs.m[jc] = mac
		}
		mac.Reset()
		mac.Write(input)
		hs.sum = mac.Sum(hs.sum[:0])
		return hmac.Equal(hs.sum, sig)
	}
	if jc.alg[:2] == "PS" && len(sig) != 256 {
		return false
	}
	// Verify only reads the signing input: viewing it as a string is safe
	// and saves a copy.
	return jc.method.Verify(bytestr.String(input), sig, jc.key) == nil
}
