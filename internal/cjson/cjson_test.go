package cjson

import "testing"

func TestExitEncodesAsCJSON(t *testing.T) {
	for msg, want := range map[string]string{
		"Missing API key in request": `{"message":"Missing API key in request"}`,
		`a/b "c" \d`:                 `{"message":"a\/b \"c\" \\d"}`,
		"<&>\t\n\x01\x7f é":          `{"message":"<&>\t\n\u0001\u007f é"}`,
	} {
		if got := string(Exit("message", msg)); got != want+"\n" {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
}
