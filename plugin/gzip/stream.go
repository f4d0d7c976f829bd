package gzip

import (
	"bytes"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// MaxStatefulPerLoop bounds the stateful compressors (~0.8–1.4 MiB each)
// one event loop keeps; streams beyond it are compressed statelessly.
const MaxStatefulPerLoop = 4

// Bounds on what a loop keeps between responses.
const (
	maxKeptOut      = 256 << 10 // an output buffer grown past this is not kept
	maxKeptStateles = 1024      // idle stateless writers kept for reuse
)

var (
	// poolKey is each loop's compressors and output buffer.
	poolKey = reqctx.NewLocalKey(func() any { return &loopPool{} })
	// streamKey is the request's compression state: the *gz that decided
	// to compress (in header_filter), then the *stream compressing.
	streamKey = reqctx.NewLocalKey(func() any { return nil })
)

// loopPool is one loop's compression state. Loop-only.
type loopPool struct {
	out     outBuf
	scratch []byte // a weakened ETag being built
	// slots hold the loop's stateful writers, busy or idle.
	slots [MaxStatefulPerLoop]*stream
	// free holds idle stateless writers.
	free []*stream
}

// stream is a gzip writer and who uses it. Loop-only.
type stream struct {
	zw    *kgzip.Writer
	level int         // a klauspost level; StatelessCompression for stateless writers
	owner *gz         // the conf compressing with it
	user  *reqctx.Ctx // the request using it; nil when idle
}

// outBuf collects a writer's output for one body filter call.
type outBuf struct{ b []byte }

// Write appends; it never fails, so neither do the gzip writers on it.
func (o *outBuf) Write(p []byte) (int, error) {
	o.b = append(o.b, p...)
	return len(p), nil
}

func poolOf(c *reqctx.Ctx) *loopPool { return c.Loop.Local(poolKey).(*loopPool) }

// busy reports whether s is in use: its request still holds it. A request
// that ended without releasing it (its Ctx was reset or moved on) does not.
func (s *stream) busy() bool {
	return s.user != nil && s.user.Local(streamKey) == any(s)
}

// acquire returns a writer at g's level for c, reset: an idle stateful one
// of that level, a new stateful one while the loop has room, else a
// stateless one.
func (pl *loopPool) acquire(c *reqctx.Ctx, g *gz) *stream {
	empty, other := -1, -1
	for i, s := range pl.slots {
		switch {
		case s == nil:
			if empty < 0 {
				empty = i
			}
		case s.busy():
		case s.level == g.level:
			return pl.use(s, c, g)
		case other < 0:
			other = i
		}
	}
	if empty < 0 {
		empty = other // replace an idle writer of another level
	}
	if empty >= 0 {
		zw, err := kgzip.NewWriterLevel(&pl.out, g.level)
		if err == nil {
			s := &stream{zw: zw, level: g.level}
			pl.slots[empty] = s
			return pl.use(s, c, g)
		}
	}
	var s *stream
	if n := len(pl.free); n > 0 {
		s = pl.free[n-1]
		pl.free[n-1] = nil
		pl.free = pl.free[:n-1]
	} else {
		zw, _ := kgzip.NewWriterLevel(&pl.out, kgzip.StatelessCompression) // a valid level: no error
		s = &stream{zw: zw, level: kgzip.StatelessCompression}
	}
	return pl.use(s, c, g)
}

func (pl *loopPool) use(s *stream, c *reqctx.Ctx, g *gz) *stream {
	s.zw.Reset(&pl.out)
	s.owner, s.user = g, c
	return s
}

// release makes s idle.
func (pl *loopPool) release(s *stream) {
	s.owner, s.user = nil, nil
	if s.level == kgzip.StatelessCompression && len(pl.free) < maxKeptStateles {
		pl.free = append(pl.free, s)
	}
}

// write compresses one piece (the last when eof) and returns the output,
// valid until the loop's next call.
func (pl *loopPool) write(s *stream, data []byte, eof bool) []byte {
	if cap(pl.out.b) > maxKeptOut {
		pl.out.b = nil
	}
	pl.out.b = pl.out.b[:0]
	if len(data) > 0 {
		_, _ = s.zw.Write(data) // writes to outBuf, which never fails
	}
	if eof {
		_ = s.zw.Close() // as above
	}
	return pl.out.b
}

// BodyFilter compresses the body of a response HeaderFilter chose, and
// passes any other through.
func (g *gz) BodyFilter(c *reqctx.Ctx, data []byte, eof bool) []byte {
	var s *stream
	switch v := c.Local(streamKey).(type) {
	case *gz:
		if v != g {
			return data // another gzip conf (a global rule's) compresses it
		}
		// A header filter after ours may have taken the encoding back
		// (response-rewrite with a new body): then the body stays as is.
		if ce, _ := c.RespHeader(hdrContentEncoding); !bytes.Equal(ce, valGzip) {
			c.SetLocal(streamKey, nil)
			return data
		}
		s = poolOf(c).acquire(c, g)
		c.SetLocal(streamKey, s)
	case *stream:
		if v.owner != g {
			return data
		}
		s = v
	default:
		return data
	}
	pl := poolOf(c)
	out := pl.write(s, data, eof)
	if eof {
		pl.release(s)
		c.SetLocal(streamKey, nil)
	}
	return out
}

// Log releases the writer of a response that ended before its last piece.
func (g *gz) Log(c *reqctx.Ctx) {
	if s, ok := c.Local(streamKey).(*stream); ok && s.owner == g {
		poolOf(c).release(s)
		c.SetLocal(streamKey, nil)
	}
}
