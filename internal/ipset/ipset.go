package ipset

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/bytestr"
)

// ErrInvalid is wrapped by the errors of Parse and ParseEntry.
var ErrInvalid = errors.New("ipset: invalid ip address")

// invalidError carries APISIX's text ("invalid ip address: X") and
// matches ErrInvalid.
type invalidError struct{ entry string }

func (e *invalidError) Error() string        { return "invalid ip address: " + e.entry }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// u128 is an IPv6 address as a number, for ordering ranges.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

// next returns a+1 (wrapping at the top, where no range can follow).
func (a u128) next() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

type range4 struct{ lo, hi uint32 }
type range6 struct{ lo, hi u128 }

// Set is a parsed list of addresses and CIDR ranges. The zero Set (and a
// nil *Set) contains nothing. Immutable; safe from any goroutine.
type Set struct {
	v4 []range4 // sorted by lo, disjoint and not adjacent
	v6 []range6
}

// ParseEntry parses one list entry as APISIX accepts it: an IPv4 or IPv6
// address, optionally with "/mask" (0-32 for IPv4, 0-128 for IPv6). Bits
// past the mask are ignored, as ipmatcher ignores them.
func ParseEntry(s string) (netip.Prefix, error) {
	addr, maskText, hasMask := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, &invalidError{s}
	}
	bits := a.BitLen()
	if hasMask {
		n, err := strconv.Atoi(maskText)
		if err != nil || n < 0 || n > bits || maskText == "" || maskText[0] == '+' || maskText[0] == '-' {
			return netip.Prefix{}, &invalidError{s}
		}
		bits = n
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, &invalidError{s}
	}
	return p, nil
}

// Parse parses a list (see ParseEntry). The first bad entry fails it with
// APISIX's text, "invalid ip address: <entry>".
func Parse(entries []string) (*Set, error) {
	s := &Set{}
	for _, e := range entries {
		p, err := ParseEntry(e)
		if err != nil {
			return nil, err
		}
		s.add(p)
	}
	s.v4 = merge4(s.v4)
	s.v6 = merge6(s.v6)
	return s, nil
}

func (s *Set) add(p netip.Prefix) {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		lo := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		var host uint32
		if p.Bits() < 32 {
			host = ^uint32(0) >> p.Bits()
		}
		s.v4 = append(s.v4, range4{lo, lo | host})
		return
	}
	lo := toU128(a)
	hi := lo
	switch bits := p.Bits(); {
	case bits == 0:
		hi = u128{^uint64(0), ^uint64(0)}
	case bits < 64:
		hi = u128{lo.hi | ^uint64(0)>>bits, ^uint64(0)}
	case bits < 128:
		hi = u128{lo.hi, lo.lo | ^uint64(0)>>(bits-64)}
	}
	s.v6 = append(s.v6, range6{lo, hi})
}

func toU128(a netip.Addr) u128 {
	b := a.As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return u128{hi, lo}
}

func merge4(rs []range4) []range4 {
	slices.SortFunc(rs, func(a, b range4) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (r.lo <= out[n-1].hi || r.lo == out[n-1].hi+1 && out[n-1].hi != ^uint32(0)) {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

func merge6(rs []range6) []range6 {
	slices.SortFunc(rs, func(a, b range6) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			top := last.hi == u128{^uint64(0), ^uint64(0)}
			if !last.hi.less(r.lo) || (!top && last.hi.next() == r.lo) {
				if last.hi.less(r.hi) {
					last.hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// Contains reports whether a is in the set. Allocates nothing.
func (s *Set) Contains(a netip.Addr) bool {
	if s == nil {
		return false
	}
	if a.Is4() {
		b := a.As4()
		x := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		rs := s.v4
		lo, hi := 0, len(rs) // find the first range with lo > x
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if rs[m].lo <= x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo > 0 && x <= rs[lo-1].hi
	}
	if !a.Is6() || a.Zone() != "" {
		return false
	}
	x := toU128(a)
	rs := s.v6
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !x.less(rs[m].lo) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo > 0 && !rs[lo-1].hi.less(x)
}

// Empty reports whether the set holds nothing.
func (s *Set) Empty() bool { return s == nil || len(s.v4)+len(s.v6) == 0 }

// ItemSchema is APISIX's schema_def.ip_def as JSON: the anyOf an entry of
// an IP list must match (IPv4, IPv4/CIDR, IPv6, IPv6/CIDR). Plugin schemas
// embed it as their lists' "items"; ParseEntry's checks come after it, as
// check_schema's validate_cidr_or_ip comes after APISIX's schema.
const ItemSchema = `{"anyOf": [
  {"title": "IPv4", "type": "string", "format": "ipv4"},
  {"title": "IPv4/CIDR", "type": "string", "pattern": "^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])/([12]?[0-9]|3[0-2])$"},
  {"title": "IPv6", "type": "string", "format": "ipv6"},
  {"title": "IPv6/CIDR", "type": "string", "pattern": "^([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?/[0-9]{1,3}$"}
]}`

// CheckItems is the check_schema step after ItemSchema for one list of a
// conf as decoded JSON (a []any, or absent): each entry must pass
// ParseEntry (the schema's IPv6 patterns let "::1/129" through). It returns
// the first entry's error, with APISIX's text.
func CheckItems(list any) error {
	items, _ := list.([]any)
	for _, v := range items {
		s, _ := v.(string)
		if _, err := ParseEntry(s); err != nil {
			return err
		}
	}
	return nil
}

// ParseAddr parses an address as ipmatcher's parse_ipv4 and parse_ipv6
// (inet_pton) accept it: dotted-quad IPv4 without leading zeros, or IPv6
// without a zone. Unlike netip.ParseAddr it does not allocate when text is
// not an address (a port, a host name) unless text looks like IPv6 (a
// colon before any dot).
func ParseAddr(text []byte) (netip.Addr, bool) {
	if i := bytes.IndexAny(text, ".:"); i < 0 || text[i] == '.' {
		return parseIPv4(text)
	}
	a, err := netip.ParseAddr(bytestr.String(text)) // not retained (a zone would be, copied, but is refused)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	part, n, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || part == 4 {
				return netip.Addr{}, false
			}
			ip[part] = byte(n)
			part, n, digits = part+1, 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits > 0 && n == 0) {
			return netip.Addr{}, false // not a digit, or a leading zero
		}
		n = n*10 + int(c-'0')
		digits++
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	if part != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}
