package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testport"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// TestReadyMeansLoopsRun checks that Ready waits for the loops, not just
// gnet's OnBoot (which comes before any loop's poller or listener exists):
// tests snapshot the process's fds right after Ready, and Shutdown's
// StopAccepting must reach every loop's listener.
func TestReadyMeansLoopsRun(t *testing.T) {
	const loops = 8 // many loops widen the gap between OnBoot and the last loop
	pollers := func() int {
		n := 0
		for _, f := range fdTargets(t) {
			if strings.HasSuffix(f, "anon_inode:[eventpoll]") {
				n++
			}
		}
		return n
	}
	for i := 0; i < 2; i++ {
		before := pollers()
		srv, err := New(Options{Listen: []string{testport.Addr(t)}, Loops: loops}, cfgsync.NewStore())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve() }()
		select {
		case <-srv.Ready():
		case err := <-done:
			t.Fatalf("Serve: %v", err)
		}
		got := pollers()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if got != before+loops {
			t.Fatalf("start %d: %d pollers at Ready, want %d (%d before + %d loops)", i, got, before+loops, before, loops)
		}
		if after := pollers(); after != before {
			t.Fatalf("start %d: %d pollers after Shutdown, want %d", i, after, before)
		}
	}
}
