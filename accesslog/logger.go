package accesslog

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// Defaults for Options.
const (
	DefaultPath          = "logs/access.log" // APISIX's nginx_config.http.access_log
	DefaultBufferSize    = 16384             // APISIX's access_log_buffer: bytes pending before the writer is woken
	DefaultFlushInterval = 3 * time.Second   // nginx's flush=3 in APISIX's template
	DefaultRingSize      = 256 << 10         // per loop
	DefaultDropReport    = 10 * time.Second
)

// Options configures a Logger. Zero fields take the Default* values.
type Options struct {
	// Path is the file lines are appended to (created with its directory
	// if missing; relative to the working directory). "/dev/stdout" works.
	Path string
	// Format and Escape are the line format (DefaultFormat when empty).
	Format string
	Escape Escape
	// Loops is the number of event loops that log (their reqctx.Loop.ID
	// is below it); a line from another loop is dropped and counted.
	Loops int
	// RingSize is each loop's buffer, in bytes (rounded up to a power of
	// two): what the writer may fall behind by before lines are dropped.
	RingSize int
	// BufferSize is how many bytes a loop lets pile up before it wakes the
	// writer (APISIX's access_log_buffer).
	BufferSize int
	// FlushInterval is the longest a line waits for the writer when its
	// loop is quiet (nginx's flush=).
	FlushInterval time.Duration
	// DropReport is how often dropped lines, if any, are reported.
	DropReport time.Duration
	// Logger receives the logger's own problems (drops, write errors).
	Logger *slog.Logger
	// Out, when set, is written to instead of Path (tests).
	Out io.Writer
}

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.Format == "" {
		o.Format = DefaultFormat
	}
	if o.Loops <= 0 {
		o.Loops = 1
	}
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.DropReport <= 0 {
		o.DropReport = DefaultDropReport
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Logger writes access log lines. Log runs on the loops and never blocks;
// one writer goroutine does the file I/O.
type Logger struct {
	o      Options
	format *Format
	loops  []*loopLog
	wake   chan struct{}
	reopen chan chan error
	done   chan struct{}
	exited chan struct{}
	closed atomic.Bool
	// strays counts lines from a loop beyond Options.Loops.
	strays atomic.Uint64

	// Writer goroutine state.
	out      io.Writer
	file     *os.File // nil when Out is set
	batch    []byte
	reported uint64 // drops already reported
}

// loopLog is one loop's part of the Logger. Loop-only, except the ring.
type loopLog struct {
	ring  *ring
	st    *lineState
	line  []byte
	waked bool // the writer was woken for what is pending
}

// New opens the log file and starts the writer.
func New(o Options) (*Logger, error) {
	o = o.withDefaults()
	f, err := Compile(o.Format, o.Escape)
	if err != nil {
		return nil, err
	}
	l := &Logger{
		o: o, format: f,
		wake:   make(chan struct{}, 1),
		reopen: make(chan chan error),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		out:    o.Out,
	}
	if l.out == nil {
		if l.file, err = openLog(o.Path); err != nil {
			return nil, err
		}
		l.out = l.file
	}
	for range o.Loops {
		var seed [32]byte
		_, _ = rand.Read(seed[:]) // crypto/rand never fails
		l.loops = append(l.loops, &loopLog{ring: newRing(o.RingSize), st: newLineState(seed)})
	}
	if u := f.Unknown(); len(u) > 0 {
		o.Logger.Warn("access log format names variables sluice does not have; they log as absent", "variables", u)
	}
	go l.run()
	return l, nil
}

func openLog(path string) (*os.File, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("accesslog: creating %s: %w", dir, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("accesslog: opening %s: %w", path, err)
	}
	return f, nil
}

// Log formats c's line into its loop's buffer. It runs on c's loop once
// the request is over, never blocks, and allocates nothing once the loop's
// buffers have grown. When the writer is behind by a whole ring, the line
// is dropped and counted.
func (l *Logger) Log(c *reqctx.Ctx) {
	id := 0
	if c.Loop != nil {
		id = c.Loop.ID
	}
	if id < 0 || id >= len(l.loops) || l.closed.Load() {
		l.strays.Add(1)
		return
	}
	ll := l.loops[id]
	ll.line = l.format.Append(ll.line[:0], c, ll.st)
	pending, _ := ll.ring.put(ll.line)
	if pending < uint64(l.o.BufferSize) {
		ll.waked = false
		return
	}
	if !ll.waked {
		ll.waked = true
		select {
		case l.wake <- struct{}{}:
		default: // already woken
		}
	}
}

// Dropped returns how many lines were dropped so far. Safe from any
// goroutine.
func (l *Logger) Dropped() uint64 {
	n := l.strays.Load()
	for _, ll := range l.loops {
		n += ll.ring.dropped.Load()
	}
	return n
}

// Reopen reopens the log file (log rotation, nginx's USR1). Safe from any
// goroutine.
func (l *Logger) Reopen() error {
	if l.file == nil {
		return nil
	}
	res := make(chan error, 1)
	select {
	case l.reopen <- res:
		return <-res
	case <-l.exited:
		return ErrClosed
	}
}

// ErrClosed: the logger was closed.
var ErrClosed = errors.New("accesslog: closed")

// Close writes what is pending and closes the file. Call it once the loops
// no longer log (lines logged after are dropped).
func (l *Logger) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	close(l.done)
	<-l.exited
	if l.file != nil {
		if err := l.file.Close(); err != nil {
			return fmt.Errorf("accesslog: closing %s: %w", l.o.Path, err)
		}
	}
	return nil
}

// run is the writer: it wakes when a loop has a buffer's worth pending or
// every FlushInterval, and writes everything pending in one write.
func (l *Logger) run() {
	defer close(l.exited)
	flush := time.NewTicker(l.o.FlushInterval)
	defer flush.Stop()
	report := time.NewTicker(l.o.DropReport)
	defer report.Stop()
	for {
		select {
		case <-l.done:
			l.drain()
			l.reportDrops()
			return
		case res := <-l.reopen:
			l.drain()
			res <- l.reopenFile()
		case <-l.wake:
			l.drain()
		case <-flush.C:
			l.drain()
		case <-report.C:
			l.reportDrops()
		}
	}
}

func (l *Logger) drain() {
	l.batch = l.batch[:0]
	for _, ll := range l.loops {
		l.batch = ll.ring.take(l.batch)
	}
	if len(l.batch) == 0 {
		return
	}
	if _, err := l.out.Write(l.batch); err != nil {
		l.o.Logger.Error("access log write failed; lines lost", "path", l.o.Path, "bytes", len(l.batch), "err", err)
	}
	if cap(l.batch) > 4<<20 {
		l.batch = nil // a burst's buffer is not kept
	}
}

func (l *Logger) reportDrops() {
	n := l.Dropped()
	if n > l.reported {
		l.o.Logger.Warn("access log lines dropped: the writer fell behind", "dropped", n-l.reported, "total", n)
		l.reported = n
	}
}

func (l *Logger) reopenFile() error {
	f, err := openLog(l.o.Path)
	if err != nil {
		return err
	}
	old := l.file
	l.file, l.out = f, f
	if err := old.Close(); err != nil {
		return fmt.Errorf("accesslog: closing the old %s: %w", l.o.Path, err)
	}
	return nil
}
