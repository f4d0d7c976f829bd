//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package gnet

import (
	"net/netip"

	errorx "github.com/panjf2000/gnet/v2/pkg/errors"
)

// DialTCP is not supported on kqueue platforms (sluice patch).
func (el *eventloop) DialTCP(netip.AddrPort, any) (Conn, error) { return nil, errorx.ErrUnsupportedOp }
