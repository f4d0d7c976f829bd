package accesslog

import "sync/atomic"

// ring is one loop's log buffer: a single-producer (the loop),
// single-consumer (the writer) byte ring. The loop appends whole lines and
// publishes them by advancing w; the writer copies out what lies between r
// and w and frees it by advancing r. Neither side ever waits for the other:
// a line that does not fit is dropped and counted.
type ring struct {
	buf  []byte // len is a power of two
	mask uint64

	_ [64]byte // w and r on their own cache lines: one writer each
	w atomic.Uint64
	_ [56]byte
	r atomic.Uint64
	_ [56]byte

	dropped atomic.Uint64 // lines the loop could not fit
}

func newRing(size int) *ring {
	n := 1
	for n < size {
		n <<= 1
	}
	return &ring{buf: make([]byte, n), mask: uint64(n - 1)}
}

// put appends line whole, or drops it when the writer is too far behind.
// It returns the bytes now pending. Loop-only.
func (r *ring) put(line []byte) (pending uint64, ok bool) {
	w := r.w.Load() // only this goroutine stores w
	used := w - r.r.Load()
	n := uint64(len(line))
	if n > uint64(len(r.buf))-used {
		r.dropped.Add(1)
		return used, false
	}
	off := w & r.mask
	k := copy(r.buf[off:], line)
	copy(r.buf, line[k:])
	r.w.Store(w + n)
	return used + n, true
}

// take appends the pending bytes to dst and frees them. Writer-only.
func (r *ring) take(dst []byte) []byte {
	w := r.w.Load()
	rd := r.r.Load() // only this goroutine stores r
	if w == rd {
		return dst
	}
	start, end := rd&r.mask, w&r.mask
	if start < end {
		dst = append(dst, r.buf[start:end]...)
	} else {
		dst = append(dst, r.buf[start:]...)
		dst = append(dst, r.buf[:end]...)
	}
	r.r.Store(w)
	return dst
}
