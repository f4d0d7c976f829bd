package plugin

import (
	"errors"
	"testing"

	"github.com/sluicegw/sluice/internal/reqctx"
)

func TestURIArgReadsAsGetURIArgs(t *testing.T) {
	for _, tc := range []struct {
		query, name, want string
		kind              ArgKind
	}{
		{"apikey=k", "apikey", "k", ArgValue},
		{"a=1&apikey=k%2Fx+y&b", "apikey", "k/x y", ArgValue},
		{"apikey=", "apikey", "", ArgValue},
		{"APIKEY=k", "apikey", "", ArgMissing},
		{"api%6Bey=k", "apikey", "k", ArgValue},
		{"apikey", "apikey", "", ArgFlag},
		{"apikey=a&apikey=b", "apikey", "", ArgMulti},
		{"apikey&apikey=b", "apikey", "", ArgMulti},
		{"=k&&x=1", "", "", ArgMissing},
		{"k=%zz%4", "k", "%zz%4", ArgValue},
	} {
		got, kind := URIArg(nil, []byte(tc.query), tc.name)
		if kind != tc.kind || string(got) != tc.want {
			t.Errorf("%q[%q] = %q %v, want %q %v", tc.query, tc.name, got, kind, tc.want, tc.kind)
		}
	}
	// Only the first MaxURIArgs pairs count.
	q := []byte{}
	for range MaxURIArgs {
		q = append(q, "x=1&"...)
	}
	if _, kind := URIArg(nil, append(q, "k=v"...), "k"); kind != ArgMissing {
		t.Errorf("argument %d read", MaxURIArgs+1)
	}
}

func TestWithoutURIArg(t *testing.T) {
	for query, want := range map[string]string{
		"apikey=k":                "",
		"a=1&apikey=k&b=%20":      "a=1&b=%20",
		"apikey&a=1&api%6Bey=x":   "a=1",
		"a=1&&b=2":                "a=1&b=2",
		"apikeys=1&xapikey=2&a=3": "apikeys=1&xapikey=2&a=3",
	} {
		if got := string(WithoutURIArg(nil, []byte(query), "apikey")); got != want {
			t.Errorf("%q: %q, want %q", query, got, want)
		}
	}
}

func TestResolveSecret(t *testing.T) {
	t.Setenv("PLUGIN_TEST_SECRET", "s3")
	t.Setenv("PLUGIN_TEST_OBJ", `{"a": "x", "n": 1}`)
	for v, want := range map[string]string{
		"plain": "plain", "$plain": "$plain", "$env://PLUGIN_TEST_SECRET": "s3",
		"$Env://PLUGIN_TEST_SECRET": "s3", "$env://PLUGIN_TEST_OBJ/a": "x",
	} {
		if got, err := ResolveSecret(v); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", v, got, err, want)
		}
	}
	for v, want := range map[string]error{
		"$env://PLUGIN_TEST_UNSET": ErrSecretUnresolved, "$env://PLUGIN_TEST_OBJ/n": ErrSecretUnresolved,
		"$env://PLUGIN_TEST_SECRET/a": ErrSecretUnresolved, "$secret://vault/1/k": ErrSecretManager,
	} {
		if _, err := ResolveSecret(v); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", v, err, want)
		}
	}
}

type oneConsumer struct{ c *reqctx.Consumer }

func (o oneConsumer) Credential(string, []byte) *reqctx.Credential { return nil }
func (o oneConsumer) Metadata(string) any                          { return nil }
func (o oneConsumer) Consumer(name string) *reqctx.Consumer {
	if name == o.c.Name {
		return o.c
	}
	return nil
}

func TestAttach(t *testing.T) {
	jack := &reqctx.Consumer{Name: "jack", CustomID: "42", GroupID: "g"}
	var c reqctx.Ctx
	AttachConsumer(&c, &reqctx.Credential{ID: "c1", Consumer: jack})
	for name, want := range map[string]string{HeaderConsumerUsername: "jack", HeaderCredentialID: "c1", HeaderConsumerCustomID: "42"} {
		if v, ok := c.Header(name); !ok || string(v) != want {
			t.Errorf("%s: %q %v, want %q", name, v, ok, want)
		}
	}
	c.Reset()
	c.Config = oneConsumer{jack}
	if AttachAnonymous(&c, "nobody") || c.Consumer != nil {
		t.Fatal("attached a consumer that does not exist")
	}
	if !AttachAnonymous(&c, "jack") || c.Consumer != jack || c.Credential != nil {
		t.Fatalf("anonymous: %+v", c.Consumer)
	}
	if v, _ := c.Header(HeaderConsumerUsername); string(v) != "jack" {
		t.Errorf("username %q", v)
	}
	for _, name := range []string{HeaderCredentialID, HeaderConsumerCustomID} {
		if _, ok := c.Header(name); ok {
			t.Errorf("%s kept for an anonymous consumer", name)
		}
	}
}
