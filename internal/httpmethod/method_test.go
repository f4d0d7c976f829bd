package httpmethod

import "testing"

// The names are APISIX's route method enum, in its order: the bit layout
// config, trie and http1 share.
func TestEnum(t *testing.T) {
	want := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"}
	for i, name := range want {
		m, ok := Parse(name)
		if !ok || m != Method(i+1) || m.String() != name || m.Bit() != 1<<(i+1) {
			t.Errorf("%s: Parse = %d, %v; String %q; Bit %b", name, m, ok, m.String(), m.Bit())
		}
	}
	for _, name := range []string{"OTHER", "get", "FETCH", ""} {
		if m, ok := Parse(name); ok || m != Other {
			t.Errorf("Parse(%q) = %v, %v", name, m, ok)
		}
	}
}

func TestSet(t *testing.T) {
	s := Get.Bit() | Post.Bit()
	if !s.Has(Get) || !s.Has(Post) || s.Has(Put) || s.Has(Other) {
		t.Errorf("Has on %b", s)
	}
}
