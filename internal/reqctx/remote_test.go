package reqctx

import (
	"net/netip"
	"testing"
)

func TestSetRealRemoteLastsOneRequest(t *testing.T) {
	var c Ctx
	conn := []byte("127.0.0.1")
	c.RemoteAddr, c.RemotePort, c.RemoteText = netip.MustParseAddr("127.0.0.1"), 52000, conn

	c.SetRealRemote(netip.MustParseAddr("2001:DB8::2"), 0)
	c.SetHeader("X-Grow", make([]byte, 4096)) // the arena moves; RemoteText must not change
	if string(c.RemoteText) != "2001:db8::2" || c.RemotePort != 52000 {
		t.Fatalf("after SetRealRemote: %q %d", c.RemoteText, c.RemotePort)
	}
	if v, _ := c.Var("remote_addr"); string(v) != "2001:db8::2" {
		t.Fatalf("$remote_addr %q", v)
	}
	c.SetRealRemote(netip.MustParseAddr("1.1.1.1"), 7090) // a second one (global rule, then route)
	if v, _ := c.Var("remote_port"); string(v) != "7090" || string(c.RemoteText) != "1.1.1.1" {
		t.Fatalf("$remote_port %q, %q", v, c.RemoteText)
	}

	c.Reset()
	if c.RemoteAddr != netip.MustParseAddr("127.0.0.1") || c.RemotePort != 52000 || &c.RemoteText[0] != &conn[0] {
		t.Fatalf("after Reset: %v %d %q", c.RemoteAddr, c.RemotePort, c.RemoteText)
	}
	c.Reset() // nothing to undo
	if string(c.RemoteText) != "127.0.0.1" {
		t.Fatalf("second Reset: %q", c.RemoteText)
	}
}
