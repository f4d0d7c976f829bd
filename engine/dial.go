package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// dialJob asks a dialer goroutine to connect up to addr and enroll the
// connection on up's loop.
type dialJob struct {
	up      *upConn
	addr    string
	timeout time.Duration
	tls     *tls.Config // https: handshake before enrolling (up.tls is set)
}

// startDialers runs Options.Dialers goroutines that perform upstream
// connects: a connect blocks, so it leaves the loop (DESIGN: blocking work
// goes to a bounded pool and comes back through the loop). It returns a
// function that stops them.
func (s *Server) startDialers() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, s.opts.Dialers)
	for i := 0; i < s.opts.Dialers; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-s.dialq:
					s.dial(ctx, j)
				}
			}
		}()
	}
	return func() {
		cancel()
		for i := 0; i < s.opts.Dialers; i++ {
			<-done
		}
	}
}

// dial connects and hands the connection to the loop. Success arrives as
// OnOpen of the upstream connection on its loop; failure as a task on the
// loop.
func (s *Server) dial(ctx context.Context, j *dialJob) {
	dctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", j.addr)
	if err == nil && j.tls != nil {
		err = handshake(dctx, j, conn)
		if err != nil {
			_ = conn.Close()
		}
	}
	el := j.up.l.el
	if err == nil {
		var ch <-chan gnet.RegisteredResult
		ch, err = el.Enroll(gnet.NewContext(ctx, j.up), conn)
		if err == nil {
			// The channel yields once OnOpen ran on the loop; waiting
			// here (off the loop) keeps this dialer's concurrency honest.
			// It never yields if the loop exited with the registration
			// still queued (an Enroll racing gnet's shutdown), so give up
			// when the dialers stop; else Serve would wait for ever.
			select {
			case res := <-ch:
				err = res.Err
			case <-ctx.Done():
				return
			}
			if err == nil {
				return
			}
		} else {
			_ = conn.Close() // the enroll failed; nothing else owns conn
		}
	}
	up, timedOut := j.up, isTimeout(err)
	if e := el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
		up.onDialFailed(timedOut, err)
		return nil
	})); e != nil {
		s.opts.Logger.Error("cannot report a failed upstream connect to its loop", "addr", j.addr, "err", e)
	}
}

// handshake runs the TLS client handshake of an https upstream connection
// on this dialer goroutine (tls.go says why); the tls.Conn then moves to
// the loop with the socket.
func handshake(ctx context.Context, j *dialJob, conn net.Conn) error {
	t := j.up.tls // the loop does not touch it until the connection is enrolled
	cfg := j.tls.Clone()
	cfg.ServerName = t.sni
	t.link.raw = conn
	t.conn = tls.Client(&t.link, cfg)
	if err := t.conn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("engine: TLS handshake with %s (%s): %w", j.addr, t.sni, err)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
