//go:build linux

// Tests for the sluice patch (PATCH.md): PauseRead/ResumeRead, the
// OutboundDrainHandler hook and Engine.StopAccepting.

package gnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

type patchServer struct {
	BuiltinEventEngine
	eng       chan Engine
	opened    chan Conn
	received  atomic.Int64
	drained   chan struct{}
	onOpen    func(c Conn)
	traffic   func(c Conn) Action
	closeHook func(c Conn)
}

func (s *patchServer) OnClose(c Conn, _ error) Action {
	if s.closeHook != nil {
		s.closeHook(c)
	}
	return None
}

func (s *patchServer) OnBoot(e Engine) Action { s.eng <- e; return None }

func (s *patchServer) OnOpen(c Conn) ([]byte, Action) {
	if s.onOpen != nil {
		s.onOpen(c)
	}
	s.opened <- c
	return nil, None
}

func (s *patchServer) OnTraffic(c Conn) Action {
	if s.traffic != nil {
		return s.traffic(c)
	}
	n, _ := c.Discard(-1)
	s.received.Add(int64(n))
	return None
}

func (s *patchServer) OnOutboundDrained(Conn) Action {
	select {
	case s.drained <- struct{}{}:
	default:
	}
	return None
}

func startPatchServer(t *testing.T, s *patchServer) (addr string, eng Engine) {
	t.Helper()
	s.eng = make(chan Engine, 1)
	s.opened = make(chan Conn, 16)
	s.drained = make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	_ = ln.Close()
	done := make(chan error, 1)
	go func() {
		done <- Run(s, "tcp://"+addr, WithNumEventLoop(1), WithReusePort(true))
	}()
	select {
	case eng = <-s.eng:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		_ = eng.Stop(context.Background())
		<-done
	})
	// OnBoot fires before the loops listen; wait until a dial succeeds.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			<-s.opened
			break
		}
		if i == 100 {
			t.Fatalf("server never listened: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr, eng
}

// onLoop runs f on c's event loop and waits for it.
func onLoop(t *testing.T, c Conn, f func()) {
	t.Helper()
	done := make(chan struct{})
	err := c.EventLoop().Execute(context.Background(), RunnableFunc(func(context.Context) error {
		f()
		close(done)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	<-done
}

func TestPauseReadStopsReadingUntilResumed(t *testing.T) {
	s := &patchServer{onOpen: func(c Conn) {
		if err := c.PauseRead(); err != nil {
			panic(err)
		}
	}}
	addr, _ := startPatchServer(t, s)

	cli, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv := <-s.opened

	const total = 32 << 20 // far more than the kernel buffers on both sides hold
	var written atomic.Int64
	writeDone := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for written.Load() < total {
			n, err := cli.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				writeDone <- err
				return
			}
		}
		writeDone <- nil
	}()

	// While paused the loop reads nothing, so the writer stalls once the
	// kernel buffers are full: written stops growing well short of total.
	var last int64 = -1
	for stable := 0; stable < 5; time.Sleep(20 * time.Millisecond) {
		w := written.Load()
		if w == last {
			stable++
		} else {
			stable, last = 0, w
		}
	}
	if got := s.received.Load(); got != 0 {
		t.Fatalf("paused connection delivered %d bytes to OnTraffic", got)
	}
	if last >= total {
		t.Fatalf("writer finished %d bytes against a paused reader", last)
	}

	onLoop(t, srv, func() {
		if err := srv.ResumeRead(); err != nil {
			t.Error(err)
		}
	})
	if err := <-writeDone; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.received.Load() < total && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.received.Load(); got != total {
		t.Fatalf("after resume received %d of %d bytes", got, total)
	}
}

func TestPausedConnectionStillFlushesWrites(t *testing.T) {
	s := &patchServer{}
	addr, _ := startPatchServer(t, s)
	cli, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv := <-s.opened

	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: overflows into gnet's buffer
	onLoop(t, srv, func() {
		if err := srv.PauseRead(); err != nil {
			t.Error(err)
		}
		if _, err := srv.Write(payload); err != nil {
			t.Error(err)
		}
		if srv.OutboundBuffered() == 0 {
			t.Error("expected part of the payload to wait in the outbound buffer")
		}
	})
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("payload corrupted")
	}
	select {
	case <-s.drained:
	case <-time.After(5 * time.Second):
		t.Fatal("OnOutboundDrained never fired")
	}
	onLoop(t, srv, func() {
		if srv.OutboundBuffered() != 0 {
			t.Error("drained but outbound buffer not empty")
		}
	})
	// Still paused: bytes from the client are not read.
	if _, err := cli.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := s.received.Load(); got != 0 {
		t.Fatalf("paused connection read %d bytes", got)
	}
}

func TestStopAcceptingKeepsExistingConnections(t *testing.T) {
	s := &patchServer{traffic: func(c Conn) Action {
		buf, _ := c.Next(-1)
		_, _ = c.Write(buf) // echo
		return None
	}}
	addr, eng := startPatchServer(t, s)
	cli, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	<-s.opened

	if err := eng.StopAccepting(); err != nil {
		t.Fatal(err)
	}
	// Until the listener is closed on the loop, dials still connect; a dial
	// caught mid-handshake by the close is reset (the kernel drops the
	// half-accepted connection), which is a moment of transition too.
	// After it, every dial is refused. A SYN that reaches the listener as it
	// closes can also be dropped without an answer; the client retransmits
	// it after 1 s and is refused then, so the dial timeout must outlast one
	// retransmission (CI saw a 1 s timeout expire there).
	var dialErr error
	for i := 0; i < 100; i++ {
		var c net.Conn
		c, dialErr = net.DialTimeout("tcp", addr, 5*time.Second)
		if dialErr == nil {
			_ = c.Close()
		} else if !errors.Is(dialErr, syscall.ECONNRESET) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(dialErr, syscall.ECONNREFUSED) {
		t.Fatalf("dial after StopAccepting: %v, want connection refused", dialErr)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 5)
		if _, err := io.ReadFull(cli, buf); err != nil || string(buf) != "hello" {
			t.Errorf("echo on existing connection: %q, %v", buf, err)
		}
	}()
	if _, err := cli.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// dialTag marks connections created by DialTCP in the test handler.
type dialTag struct {
	opened chan struct{}
	got    chan []byte
	closed chan error
}

func TestDialTCPConnectsOnTheLoop(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c) }()
		}
	}()

	s := &patchServer{}
	s.traffic = func(c Conn) Action {
		if tag, ok := c.Context().(*dialTag); ok {
			b, _ := c.Next(-1)
			tag.got <- append([]byte(nil), b...)
			return None
		}
		_, _ = c.Discard(-1)
		return None
	}
	addr, _ := startPatchServer(t, s)
	cli, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv := <-s.opened

	tag := &dialTag{got: make(chan []byte, 4)}
	target := netip.MustParseAddrPort(echo.Addr().String())
	onLoop(t, srv, func() {
		up, err := srv.EventLoop().DialTCP(target, tag)
		if err != nil {
			t.Error(err)
			return
		}
		if up.Context() != tag {
			t.Error("context not set before DialTCP returned")
		}
		// Written before the handshake may have completed: gnet buffers it.
		if _, err := up.Write([]byte("ping")); err != nil {
			t.Error(err)
		}
	})
	<-s.opened // OnOpen of the dialled connection
	select {
	case b := <-tag.got:
		if string(b) != "ping" {
			t.Fatalf("echo %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no echo over the dialled connection")
	}
}

func TestDialTCPRefusedClosesTheConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := netip.MustParseAddrPort(ln.Addr().String())
	_ = ln.Close() // nothing listens there now

	closed := make(chan struct{}, 1)
	s := &patchServer{}
	s.closeHook = func(c Conn) {
		if c.Context() == "dialled" {
			closed <- struct{}{}
		}
	}
	addr, _ := startPatchServer(t, s)
	cli, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv := <-s.opened
	onLoop(t, srv, func() {
		up, err := srv.EventLoop().DialTCP(refused, "dialled")
		if err != nil {
			closed <- struct{}{} // refused synchronously: also fine
			return
		}
		_, _ = up.Write([]byte("x"))
	})
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("refused connect never closed the connection")
	}
}

// TestAcceptTakesABatch: one readable event on a listener accepts every
// queued connection, up to acceptBatch, not just one. The loop is held in
// a task while clients connect (the kernel completes their handshakes into
// the accept queue), then the task hands the listener's event to accept
// itself and counts what it opened.
func TestAcceptTakesABatch(t *testing.T) {
	s := &patchServer{}
	addr, _ := startPatchServer(t, s)
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	c := <-s.opened
	go func() { // OnOpen reports every connection; keep the channel drained
		for range s.opened {
		}
	}()
	const queued = 40
	dialed := make(chan []net.Conn)
	var opened int32
	onLoop(t, c, func() {
		go func() {
			var cs []net.Conn
			for i := 0; i < queued; i++ {
				d, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					break
				}
				cs = append(cs, d)
			}
			dialed <- cs
		}()
		cs := <-dialed
		defer func() {
			for _, d := range cs {
				_ = d.Close()
			}
		}()
		el := c.(*conn).loop
		before := el.countConn()
		for fd := range el.listeners {
			_ = el.accept(fd, 0, 0)
		}
		opened = el.countConn() - before
	})
	if opened != queued {
		t.Fatalf("one listener event accepted %d of %d queued connections", opened, queued)
	}
}
