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

// RawRead is read(2) without the Go scheduler's syscall bookkeeping. It is
// for non-blocking descriptors only: the call never blocks, so there is no
// P to hand off. With the bookkeeping, every event-loop read and write
// entered a syscall state that kept sysmon waking every 20µs and retaking
// the loop's P during slow loopback writes (futex handoffs), which showed
// as tail latency under load.
func RawRead(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// RawWrite is write(2) for non-blocking descriptors; see RawRead.
func RawWrite(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := syscall.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// RawWritev is writev(2) for non-blocking descriptors; see RawRead.
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
	w, _, e := syscall.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&vecs[0])), uintptr(n))
	if e != 0 {
		return 0, e
	}
	return int(w), nil
}
