// sluice patch: on-loop non-blocking connect (EventLoop.DialTCP).

package gnet

import (
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

func (el *eventloop) DialTCP(addr netip.AddrPort, ctx any) (Conn, error) {
	var (
		sa     unix.Sockaddr
		family = unix.AF_INET
	)
	ip := addr.Addr().Unmap()
	if ip.Is4() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		_ = unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		_ = unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	remote := &net.TCPAddr{IP: ip.AsSlice(), Port: int(addr.Port())}
	c := newStreamConn("tcp", fd, el, sa, nil, remote)
	c.ctx = ctx
	if err := el.register0(c); err != nil {
		return nil, err
	}
	return c, nil
}
