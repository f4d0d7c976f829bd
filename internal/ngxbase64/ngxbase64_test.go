package ngxbase64

import "testing"

func TestDecodersAsNginx(t *testing.T) {
	for _, tc := range []struct {
		name   string
		decode func(dst, src []byte) ([]byte, bool)
		in     string
		want   string
		ok     bool
	}{
		{"std padded", Decode, "Zm9vOmJhcg==", "foo:bar", true},
		{"std unpadded", Decode, "Zm9vOmJhcg", "foo:bar", true},
		{"std ends at =", Decode, "Zm9v=garbage!", "foo", true},
		{"std refuses url", Decode, "a-_b", "", false},
		{"std 4n+1", Decode, "Zm9vO", "", false},
		{"std empty", Decode, "", "", true},
		{"std keeps no CR LF", Decode, "Zm9v\r\nYmFy", "", false},
		{"std leftover bits ignored", Decode, "Zm9=", "fo", true},
		{"std padded short", Decode, "YQ=", "a", true},
		{"url", DecodeURL, "-_-_", "\xfb\xff\xbf", true},
		{"url refuses std", DecodeURL, "+/+/", "", false},
		{"either takes both", DecodeEither, "+_-/", "\xfb\xff\xbf", true},
		{"either refuses others", DecodeEither, "ab.c", "", false},
	} {
		got, ok := tc.decode(nil, []byte(tc.in))
		if ok != tc.ok || ok && string(got) != tc.want {
			t.Errorf("%s: %q %v, want %q %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
