package ipset

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func mustParse(t testing.TB, entries ...string) *Set {
	t.Helper()
	s, err := Parse(entries)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContains(t *testing.T) {
	s := mustParse(t, "127.0.0.0/24", "113.74.26.106", "10.255.254.5/24", "::1", "fe80::/32",
		"2001:DB8:0:23:8:800:200C:417A", "192.168.0.0/16", "192.168.3.0/24")
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.255", true},
		{"127.0.1.0", false},
		{"113.74.26.106", true},
		{"113.74.26.107", false},
		{"10.255.254.200", true}, // host bits past the mask are ignored
		{"192.168.200.1", true},
		{"::1", true},
		{"::2", false},
		{"fe80::1:1", true},
		{"fe80:1::1", false},
		{"2001:db8:0:23:8:800:200c:417a", true},
		{"::ffff:127.0.0.1", false}, // a mapped address is IPv6, as in ipmatcher
		{"fe80::1%eth0", false},     // zones never match
	} {
		if got := s.Contains(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Contains(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if s.Contains(netip.Addr{}) {
		t.Error("the zero Addr matched")
	}
	var none *Set
	if none.Contains(netip.MustParseAddr("1.1.1.1")) || !none.Empty() {
		t.Error("nil set")
	}
}

func TestWholeSpaces(t *testing.T) {
	s := mustParse(t, "0.0.0.0/0", "::/0")
	for _, a := range []string{"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:1.2.3.4"} {
		if !s.Contains(netip.MustParseAddr(a)) {
			t.Errorf("%s not in the whole space", a)
		}
	}
	// Top-of-space ranges merge without wrapping.
	s = mustParse(t, "255.255.255.255", "255.255.255.254", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127")
	if len(s.v4) != 1 || len(s.v6) != 1 || !s.Contains(netip.MustParseAddr("255.255.255.254")) || s.Contains(netip.MustParseAddr("0.0.0.0")) {
		t.Errorf("top ranges %+v %+v", s.v4, s.v6)
	}
}

func TestParseRefusesWhatAPISIXRefuses(t *testing.T) {
	for _, bad := range []string{"::1/129", "::ffgg", "10.255.256.0/24", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/+8", "1.2.3.04", "fe80::1%eth0", "example.com", ""} {
		_, err := Parse([]string{"1.1.1.1", bad})
		if !errors.Is(err, ErrInvalid) || err.Error() != "invalid ip address: "+bad {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestMatchesPrefixContains checks the merged ranges against the obvious
// oracle: any prefix of the list contains the address.
func TestMatchesPrefixContains(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var entries []string
		var prefixes []netip.Prefix
		for range 1 + r.IntN(12) {
			p := randPrefix(r)
			entries = append(entries, p.String())
			prefixes = append(prefixes, p)
		}
		s := mustParse(t, entries...)
		for range 200 {
			a := randAddr(r, prefixes)
			want := false
			for _, p := range prefixes {
				want = want || p.Contains(a)
			}
			if got := s.Contains(a); got != want {
				t.Fatalf("%v: Contains(%s) = %v, want %v", entries, a, got, want)
			}
		}
	}
}

// randPrefix draws prefixes from a small space so that they overlap and
// touch often.
func randPrefix(r *rand.Rand) netip.Prefix {
	if r.IntN(2) == 0 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))})
		p, _ := a.Prefix(20 + r.IntN(13))
		return p
	}
	var b [16]byte
	b[0], b[1], b[14], b[15] = 0x20, 0x01, byte(r.IntN(4)), byte(r.IntN(256))
	p, _ := netip.AddrFrom16(b).Prefix(116 + r.IntN(13))
	return p
}

func randAddr(r *rand.Rand, near []netip.Prefix) netip.Addr {
	a := near[r.IntN(len(near))].Addr()
	if a.Is4() {
		b := a.As4()
		b[2], b[3] = byte(int(b[2])+r.IntN(3)-1), byte(r.IntN(256))
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	b[14], b[15] = byte(int(b[14])+r.IntN(3)-1), byte(r.IntN(256))
	return netip.AddrFrom16(b)
}

func FuzzContains(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.2.3")
	f.Add("::1/128", "::1")
	f.Add("0.0.0.0/0", "::ffff:1.1.1.1")
	f.Fuzz(func(t *testing.T, entry, addr string) {
		p, err := ParseEntry(entry)
		a, aerr := netip.ParseAddr(addr)
		if err != nil || aerr != nil {
			return
		}
		s := mustParse(t, entry)
		if got, want := s.Contains(a), p.Contains(a); got != want {
			t.Fatalf("%s contains %s: %v, want %v", entry, addr, got, want)
		}
	})
}

func TestContainsAllocatesNothing(t *testing.T) {
	s := mustParse(t, "10.0.0.0/8", "fe80::/32")
	a4, a6 := netip.MustParseAddr("10.2.3.4"), netip.MustParseAddr("fe80::1")
	if n := testing.AllocsPerRun(100, func() { _ = s.Contains(a4) || s.Contains(a6) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func TestItemSchemaIsJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal([]byte(ItemSchema), &v); err != nil || len(v["anyOf"].([]any)) != 4 {
		t.Fatalf("%v %v", v, err)
	}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when refused
	}{
		{"1.2.3.4", "1.2.3.4"},
		{"255.255.255.255", "255.255.255.255"},
		{"0.0.0.0", "0.0.0.0"},
		{"1.2.3.04", ""},
		{"1.2.3.256", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"1..3.4", ""},
		{"1.2.3.4:80", ""},
		{" 1.2.3.4", ""},
		{"", ""},
		{"localhost", ""},
		{"::2", "::2"},
		{"2001:DB8::1", "2001:db8::1"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"fe80::1%eth0", ""},
		{"[::1]", ""},
	} {
		a, ok := ParseAddr([]byte(tc.in))
		if got := ""; ok {
			got = a.String()
			if got != tc.want {
				t.Errorf("%q: %s, want %q", tc.in, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%q refused, want %s", tc.in, tc.want)
		}
	}
	withPort, plain := []byte("10.0.0.1:9"), []byte("10.0.0.1")
	if n := testing.AllocsPerRun(100, func() {
		_, _ = ParseAddr(withPort)
		_, _ = ParseAddr(plain)
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func TestCheckItems(t *testing.T) {
	for _, tc := range []struct {
		list any
		want string
	}{
		{nil, "<nil>"},
		{[]any{"10.0.0.0/8", "::1"}, "<nil>"},
		{[]any{"::1", "::1/129"}, "invalid ip address: ::1/129"},
		{[]any{1}, "invalid ip address: "},
	} {
		if got := fmt.Sprint(CheckItems(tc.list)); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.list, got, tc.want)
		}
	}
}
