package jwtauth

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/ngxbase64"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// scratch is a loop's buffers for one token: the query argument, the
// rebuilt query and Cookie header, and the decoded parts. The request path
// is done with them before Rewrite returns.
type scratch struct {
	arg, args, cookie []byte
	header, payload   []byte
	sig, input        []byte
}

var scratchKey = reqctx.NewLocalKey(func() any { return new(scratch) })

// find fetches and verifies the token, in APISIX's order and with its
// answers: the credential and the token's payload, or nil and the
// message of the 401.
func (j *jwtAuth) find(c *reqctx.Ctx) (*reqctx.Credential, []byte, []byte) {
	sc := c.Loop.Local(scratchKey).(*scratch)
	token, ok, usable := j.fetch(c, sc)
	if !ok {
		return nil, nil, msgMissing
	}
	if !usable {
		return nil, nil, msgInvalid
	}
	tok, ok := parse(sc, token)
	if !ok {
		return nil, nil, msgInvalid
	}
	key, _ := field(tok.payload, j.keyClaim)
	if len(key) == 0 || string(key) == "false" {
		return nil, nil, msgMissingKey
	}
	if key[0] != '"' {
		// A number, true, null, an object: no consumer has it as a key.
		return nil, nil, msgInvalidKey
	}
	name := key[1 : len(key)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		var s string
		if json.Unmarshal(key, &s) != nil {
			return nil, nil, msgInvalidKey
		}
		name = []byte(s)
	}
	cred := plugin.FindCredential(c, Name, name)
	if cred == nil {
		return nil, nil, msgInvalidKey
	}
	jc, _ := cred.Conf.(*credential)
	if jc == nil || !tok.algIs(jc.alg) || !jc.verify(c.Loop, tok.input, tok.sig) {
		return nil, nil, msgFailed
	}
	if !j.verifyClaims(tok.payload, jc.grace, time.Now().Unix()) {
		return nil, nil, msgFailed
	}
	return cred, tok.payload, nil
}

// fetch reads the token from the header (without a "Bearer "/"bearer "
// prefix), else the query argument, else the cookie, hiding it as it goes
// with hide_credentials (APISIX's fetch_jwt_token). ok is false when the
// request has none; usable is false for a query argument that is a Lua
// boolean or table (given without a value, or twice).
func (j *jwtAuth) fetch(c *reqctx.Ctx, sc *scratch) (token []byte, ok, usable bool) {
	var name string
	if token, name, ok = j.header.Get(c); ok {
		if j.hide {
			c.DelHeader(name)
		}
		if len(token) >= 7 && (string(token[:7]) == "Bearer " || string(token[:7]) == "bearer ") {
			token = token[7:]
		}
		return token, true, true
	}
	args := c.Args()
	var kind plugin.ArgKind
	sc.arg, kind = plugin.URIArg(sc.arg[:0], args, j.query)
	if kind != plugin.ArgMissing {
		if j.hide {
			sc.args = plugin.WithoutURIArg(sc.args[:0], args, j.query)
			c.SetArgs(sc.args)
		}
		return sc.arg, true, kind == plugin.ArgValue
	}
	if token, ok = c.Value(&j.cookieVar); !ok {
		return nil, false, false
	}
	if j.hide {
		if h, ok := c.Header("Cookie"); ok {
			sc.cookie = removeCookie(sc.cookie[:0], h, j.cookie)
			if len(sc.cookie) == 0 {
				c.DelHeader("Cookie")
			} else {
				c.SetHeader("Cookie", sc.cookie)
			}
		}
	}
	return token, true, true
}

// removeCookie rebuilds a Cookie header as APISIX's remove_specified_cookie
// does: every match of ([a-zA-Z0-9-_]*)=([a-zA-Z0-9-._]*) whose name is
// not name, joined with "; " (anything else in the header is dropped).
func removeCookie(dst, h []byte, name string) []byte {
	first := true
	for s := 0; s < len(h); {
		r := s
		for r < len(h) && isCookieName(h[r]) {
			r++
		}
		if r == len(h) || h[r] != '=' {
			s = r + 1 // no match starts in s..r: they all run into r
			continue
		}
		e := r + 1
		for e < len(h) && isCookieValue(h[e]) {
			e++
		}
		if string(h[s:r]) != name {
			if !first {
				dst = append(dst, "; "...)
			}
			first = false
			dst = append(dst, h[s:e]...)
		}
		s = e
	}
	return dst
}

func isCookieName(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func isCookieValue(c byte) bool { return isCookieName(c) || c == '.' }

// token is a parsed JWS: its decoded parts and what its signature covers.
type token struct {
	alg     []byte // the header's "alg" as raw JSON (nil if absent)
	payload []byte // decoded JSON
	sig     []byte // decoded signature (nil if it is not base64url)
	input   []byte // header "." payload, as sent
}

// algIs reports whether the header's alg is the JSON string want.
func (t *token) algIs(want string) bool {
	return len(t.alg) == len(want)+2 && t.alg[0] == '"' && string(t.alg[1:len(t.alg)-1]) == want
}

// parse reads a JWS as lua-resty-jwt's load_jwt does: the token splits on
// '.' into non-empty parts and must have exactly three; header and payload
// are base64url (either alphabet, padding optional) JSON. It reports false
// for a token APISIX answers "JWT token invalid".
func parse(sc *scratch, t []byte) (token, bool) {
	var parts [3][]byte
	n := 0
	contiguous := true
	for rest := t; len(rest) > 0; {
		var p []byte
		if i := bytes.IndexByte(rest, '.'); i >= 0 {
			p, rest = rest[:i], rest[i+1:]
			if len(p) == 0 {
				contiguous = false
				continue
			}
		} else {
			p, rest = rest, nil
		}
		if n == 3 {
			return token{}, false
		}
		parts[n] = p
		n++
	}
	if n != 3 {
		return token{}, false
	}
	var ok bool
	if sc.header, ok = ngxbase64.DecodeEither(sc.header[:0], parts[0]); !ok || !json.Valid(sc.header) {
		return token{}, false
	}
	if sc.payload, ok = ngxbase64.DecodeEither(sc.payload[:0], parts[1]); !ok || !json.Valid(sc.payload) {
		return token{}, false
	}
	var tok token
	tok.payload = sc.payload
	tok.alg, _ = field(sc.header, "alg")
	if sc.sig, ok = ngxbase64.DecodeURL(sc.sig[:0], parts[2]); ok {
		tok.sig = sc.sig
	}
	// What the signature covers is the two raw parts joined by '.'; it is
	// a prefix of the token unless empty parts had to be skipped.
	if contiguous {
		tok.input = t[:len(parts[0])+1+len(parts[1])]
	} else {
		sc.input = append(append(append(sc.input[:0], parts[0]...), '.'), parts[1]...)
		tok.input = sc.input
	}
	return tok, true
}

// verifyClaims checks exp and nbf as apisix/plugins/jwt-auth/parser.lua
// verify_claims does, now in seconds and grace the consumer's
// lifetime_grace_period.
func (j *jwtAuth) verifyClaims(payload []byte, grace, now int64) bool {
	if len(j.claims) == 0 {
		for _, cl := range defaultClaims {
			v, ok := field(payload, cl.name)
			if ok && !cl.check(v, grace, now) {
				return false
			}
		}
		return true
	}
	for _, cl := range j.claims {
		v, ok := field(payload, cl.name)
		if !ok || !cl.check(v, grace, now) {
			return false
		}
	}
	return true
}

// claim is one registered claim jwt-auth can verify.
type claim struct {
	name string
	// valid reports whether the claim's value t passes at now.
	valid func(t float64, grace, now int64) bool
}

// check applies the claim to its raw JSON value, which must be a number.
func (cl claim) check(v []byte, grace, now int64) bool {
	if len(v) == 0 || !(v[0] == '-' || '0' <= v[0] && v[0] <= '9') {
		return false // "claim exp is not a number"
	}
	t, err := strconv.ParseFloat(bytestr.String(v), 64)
	if err != nil {
		return false
	}
	return cl.valid(t, grace, now)
}

var (
	// nbf: valid if nbf < now + grace ("'nbf' claim not valid until ...").
	nbfClaim = claim{"nbf", func(t float64, grace, now int64) bool { return t < float64(now+grace) }}
	// exp: valid if exp > now - grace ("'exp' claim expired at ...").
	expClaim = claim{"exp", func(t float64, grace, now int64) bool { return t > float64(now-grace) }}
	// defaultClaims are checked, in this order, when present.
	defaultClaims = []claim{nbfClaim, expClaim}
)

func claimByName(name string) (claim, bool) {
	switch name {
	case "nbf":
		return nbfClaim, true
	case "exp":
		return expClaim, true
	}
	return claim{}, false
}
