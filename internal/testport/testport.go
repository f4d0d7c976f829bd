package testport

import (
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// Port returns a loopback port nothing listened on when it was probed and
// that this process has not been handed before.
func Port(t testing.TB) int {
	t.Helper()
	return next(t, probe)
}

// probe asks the kernel for a free loopback port.
func probe(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close() // only probing for a free port
	return ln.Addr().(*net.TCPAddr).Port
}

// next probes until the probe offers a port not handed out before.
func next(t testing.TB, probe func(testing.TB) int) int {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for {
		if port := probe(t); !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
}

// Addr returns "127.0.0.1:<port>" for a Port.
func Addr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(Port(t))
}

// Refused returns "127.0.0.1:<port>" for a port that refuses connections
// for the rest of the test: a socket is bound to it but never listens.
// A port Addr probed and closed can be taken meanwhile by anything else on
// the machine (go test runs packages in parallel): a gateway test routed
// to a "dead" node once got a 404 from whatever listened there. Holding
// the binding keeps the port out of the kernel's hands.
func Refused(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}
