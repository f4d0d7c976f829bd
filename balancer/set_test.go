package balancer

import "testing"

func TestSet(t *testing.T) {
	var s Set
	for _, i := range []int{0, 63, 64, 127, 128, 500} {
		if s.Has(i) {
			t.Fatalf("empty set has %d", i)
		}
		s.Add(i)
		if !s.Has(i) {
			t.Fatalf("set lacks %d after Add", i)
		}
	}
	if s.Len() != 6 || s.Has(1) || s.Has(499) {
		t.Fatalf("len %d", s.Len())
	}
	s.Reset()
	if s.Len() != 0 || s.Has(500) {
		t.Fatal("Reset left members")
	}
	var nilSet *Set
	if nilSet.Has(3) || nilSet.Len() != 0 {
		t.Fatal("nil set is not empty")
	}
}
