// sluice patch: raw I/O for non-blocking sockets.

package io

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawIovecs is how many buffers RawWritev hands the kernel from a stack
// array; longer vectors take the scheduler-aware path.
const rawIovecs = 16

// RawRead reads a non-blocking socket: recvfrom(2) without the Go
// scheduler's syscall bookkeeping. The call never blocks, so there is no P
// to hand off; with the bookkeeping, every event-loop read and write
// entered a syscall state that kept sysmon waking every 20µs and retaking
// the loop's P during slow loopback writes (futex handoffs), which showed
// as tail latency under load.
//
// It is recvfrom rather than read(2) because read reaches the socket
// through the VFS layer (fdget_pos, vfs_read, rw_verify_area,
// sock_read_iter), which a kernel profile of the proxy at 1,000 clients
// showed at about 5% of its CPU; recvfrom goes straight to the socket, as
// nginx's recv does. The descriptor must be a socket (ENOTSOCK otherwise).
func RawRead(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(ptr), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// RawWrite writes a non-blocking socket: sendto(2) with MSG_NOSIGNAL (a
// peer that reset the connection yields EPIPE, never SIGPIPE); see RawRead
// for why not write(2).
func RawWrite(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// RawWritev writes several buffers to a non-blocking socket in one
// sendmsg(2) with MSG_NOSIGNAL; see RawRead and RawWrite.
func RawWritev(fd int, iov [][]byte) (int, error) {
	if len(iov) == 0 {
		return 0, nil
	}
	if len(iov) > rawIovecs {
		return unix.Writev(fd, iov)
	}
	var vecs [rawIovecs]unix.Iovec
	n := 0
	for _, b := range iov {
		if len(b) == 0 {
			continue
		}
		vecs[n].Base = &b[0]
		vecs[n].SetLen(len(b))
		n++
	}
	if n == 0 {
		return 0, nil
	}
	msg := unix.Msghdr{Iov: &vecs[0]}
	msg.SetIovlen(n)
	w, _, e := syscall.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL)
	if e != 0 {
		return 0, e
	}
	return int(w), nil
}
