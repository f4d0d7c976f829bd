package jwtauth

import "testing"

func TestRemoveCookieAsAPISIX(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"jwt=a.b.c", ""},
		{"a=1; jwt=a.b.c; b=2", "a=1; b=2"},
		{"jwt=x;a=1", "a=1"},
		{"JWT=x; a=1", "JWT=x; a=1"},         // names compare exactly
		{"a=x%20y; b=\"q\"", "a=x; b="},      // values end at the first other byte
		{"a b=1; =2; c", "b=1; =2"},          // names end at the first other byte
		{"xjwt=1; jwt_=2", "xjwt=1; jwt_=2"}, // only the exact name goes
	} {
		if got := string(removeCookie(nil, []byte(tc.header), "jwt")); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestParseSplitsAsLoadJWT(t *testing.T) {
	const h, p = "eyJhbGciOiJIUzI1NiJ9", "eyJrZXkiOiJrIn0"
	for _, tc := range []struct {
		tok, input string
		ok         bool
	}{
		{h + "." + p + ".c2ln", h + "." + p, true},
		{"." + h + ".." + p + ".c2ln.", h + "." + p, true},
		{h + "." + p, "", false},
		{h + "." + p + ".c2ln.more", "", false},
		{h + "." + p + ".", "", false},
		{"bm90IGpzb24." + p + ".c2ln", "", false}, // header is not JSON
	} {
		var sc scratch
		tok, ok := parse(&sc, []byte(tc.tok))
		if ok != tc.ok || ok && (string(tok.input) != tc.input || !tok.algIs("HS256") || string(tok.payload) != `{"key":"k"}`) {
			t.Errorf("%q: %v %q alg %s payload %s", tc.tok, ok, tok.input, tok.alg, tok.payload)
		}
	}
}

func TestFieldReadsTopLevelMembers(t *testing.T) {
	for _, tc := range []struct {
		obj, name, want string
		ok              bool
	}{
		{`{"key":"k","exp":1}`, "exp", "1", true},
		{` { "a" : {"key": "inner"} , "key" : "outer" } `, "key", `"outer"`, true},
		{`{"a":["key",{"key":1}],"b":"x\"key\":2"}`, "key", "", false},
		{`{"key":1,"key":"last"}`, "key", `"last"`, true},
		{`{"k\u0065y":true}`, "key", "true", true},
		{`{"key":null}`, "key", "null", true},
		{`["key"]`, "key", "", false},
		{`"key"`, "key", "", false},
		{`{}`, "key", "", false},
	} {
		got, ok := field([]byte(tc.obj), tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s[%s] = %q %v, want %q %v", tc.obj, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
