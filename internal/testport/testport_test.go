package testport

import (
	"net"
	"testing"
)

// TestPortSkipsWhatItHandedOut: when the kernel offers a port again, as it
// does after a probe closes it, the next one is taken instead.
func TestPortSkipsWhatItHandedOut(t *testing.T) {
	offers := []int{61001, 61001, 61001, 61002}
	kernel := func(testing.TB) int {
		p := offers[0]
		offers = offers[1:]
		return p
	}
	if a, b := next(t, kernel), next(t, kernel); a != 61001 || b != 61002 {
		t.Fatalf("handed out %d then %d, want 61001 then 61002", a, b)
	}
	if len(offers) != 0 {
		t.Fatalf("%d offers left: the repeated port was not skipped", len(offers))
	}
}

// TestAddrListens: what Addr returns can be listened on.
func TestAddrListens(t *testing.T) {
	ln, err := net.Listen("tcp", Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
}

// A Refused address refuses connections, and nothing can listen on it
// while the test holds it.
func TestRefusedStaysRefused(t *testing.T) {
	addr := Refused(t)
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("dial %s connected", addr)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("listened on %s, which Refused holds", addr)
	}
}
