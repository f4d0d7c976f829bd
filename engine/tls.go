package engine

import (
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// TLS to https upstreams. gnet has no TLS, and the loop must never block,
// so an upstream TLS connection lives in two places in turn:
//
//  1. The handshake runs on a dialer goroutine (dial.go), like a blocking
//     connect: net.Dialer, then crypto/tls's client handshake over the
//     socket, both within the connect timeout (nginx also bounds its SSL
//     handshake with proxy_connect_timeout). SNI is the Host sent
//     upstream (APISIX's proxy_ssl_name $upstream_host), port stripped;
//     a certificate that fails verification fails the attempt (502, a
//     TCP failure for health checks).
//  2. The socket is then enrolled on the client's loop (EventLoop.Enroll)
//     and the same tls.Conn keeps working there as a record layer over
//     memory: its transport (tlsLink) reads the ciphertext gnet has just
//     read and writes ciphertext straight into the gnet connection. When
//     the ciphertext runs out, the transport reports a temporary net.Error,
//     which crypto/tls passes up without poisoning the connection (partial
//     records stay in its buffer), so decrypting never waits.
//
// Per request this costs the AES-GCM (or ChaCha20) sealing and opening of
// the request and response, and a few small allocations inside crypto/tls
// (its record reader): plain-HTTP upstreams keep their zero-allocation
// path, TLS ones do not. Per connection it costs a dialer-goroutine hop and
// the handshake, which keepalive amortises (connections are pooled per
// node and reused only for the same SNI) and a per-upstream session cache
// shortens when connections are re-dialled.

// upTLS is the TLS state of one upstream connection. Loop-only once the
// connection is enrolled.
type upTLS struct {
	conn  *tls.Conn
	link  tlsLink
	plain []byte // decrypted response bytes not consumed yet
	sni   string // the server name the connection was made for
}

// errWouldBlock is what tlsLink.Read returns when the ciphertext at hand is
// used up: temporary, so crypto/tls keeps the connection usable.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "engine: no more TLS input for now" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// tlsLink is the net.Conn a tls.Conn runs over: the real socket during the
// handshake (dialer goroutine), then the loop's view of it (up).
type tlsLink struct {
	raw net.Conn // handshake phase
	up  *upConn  // enrolled phase
	in  []byte   // ciphertext offered during one decrypt
}

var _ net.Conn = (*tlsLink)(nil)

func (k *tlsLink) Read(p []byte) (int, error) {
	if k.up == nil {
		return k.raw.Read(p)
	}
	if len(k.in) == 0 {
		return 0, errWouldBlock
	}
	n := copy(p, k.in)
	k.in = k.in[n:]
	return n, nil
}

func (k *tlsLink) Write(p []byte) (int, error) {
	if k.up == nil {
		return k.raw.Write(p)
	}
	if k.up.c == nil {
		return 0, net.ErrClosed
	}
	return k.up.c.Write(p) // gnet keeps what the socket does not take
}

func (k *tlsLink) Close() error {
	if k.raw != nil {
		return k.raw.Close()
	}
	return nil
}

func (k *tlsLink) LocalAddr() net.Addr {
	if k.raw != nil {
		return k.raw.LocalAddr()
	}
	return &net.TCPAddr{}
}

func (k *tlsLink) RemoteAddr() net.Addr {
	if k.raw != nil {
		return k.raw.RemoteAddr()
	}
	return &net.TCPAddr{}
}

func (k *tlsLink) SetDeadline(t time.Time) error {
	if k.raw != nil {
		return k.raw.SetDeadline(t)
	}
	return nil
}

func (k *tlsLink) SetReadDeadline(t time.Time) error {
	if k.raw != nil {
		return k.raw.SetReadDeadline(t)
	}
	return nil
}

func (k *tlsLink) SetWriteDeadline(t time.Time) error {
	if k.raw != nil {
		return k.raw.SetWriteDeadline(t)
	}
	return nil
}

// enrolled switches the TLS layer to the loop: the socket now belongs to
// gnet conn up.c.
func (t *upTLS) enrolled(up *upConn) {
	t.link.raw = nil
	t.link.up = up
}

// decrypt runs the ciphertext gnet has read for c through crypto/tls,
// appending the plaintext to t.plain, and consumes it all from gnet (what
// does not complete a record waits in crypto/tls's buffer). A non-nil error
// means the TLS stream ended (close_notify) or broke; plaintext before it
// is still in t.plain.
func (t *upTLS) decrypt(c gnet.Conn) error {
	buf, _ := c.Peek(-1)
	t.link.in = buf
	var err error
	for {
		if cap(t.plain)-len(t.plain) < 4<<10 {
			t.plain = slices.Grow(t.plain, 16<<10)
		}
		var n int
		n, err = t.conn.Read(t.plain[len(t.plain):cap(t.plain)])
		t.plain = t.plain[:len(t.plain)+n]
		if err != nil {
			break
		}
	}
	t.link.in = nil
	if len(buf) > 0 {
		_, _ = c.Discard(len(buf))
	}
	if errors.Is(err, errWouldBlock) {
		return nil
	}
	return err
}

// hostName returns the Host sent upstream without its port (and an IPv6
// literal without brackets): the TLS server name.
func hostName(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		for i, c := range h {
			if c == ']' {
				return h[1:i]
			}
		}
		return h
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i] == ':' {
			return h[:i]
		}
	}
	return h
}
