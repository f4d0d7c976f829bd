package sync

import (
	"context"
	"fmt"
)

// rebuilder carries requests to recompile everything (plugins reload) to a
// source's goroutine, which alone may use the Builder, and their answers
// back. The zero value works.
type rebuilder struct {
	reqs chan chan error
}

func (r *rebuilder) ch() chan chan error {
	return r.reqs
}

// ask sends one request and waits for it to be done or ctx to end.
func (r *rebuilder) ask(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case r.reqs <- done:
	case <-ctx.Done():
		return fmt.Errorf("sync: waiting for the config source to take the rebuild: %w", ctx.Err())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("sync: waiting for the rebuild: %w", ctx.Err())
	}
}

// serve runs one request on the source's goroutine: recompile with the
// builder, publish, answer.
func (r *rebuilder) serve(done chan error, b *Builder, version int64, publish func(*Snapshot), problems func([]error)) {
	snap, errs := b.RecompileAll(version)
	problems(errs)
	publish(snap)
	done <- nil
}
