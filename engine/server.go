package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	cfgsync "github.com/sluicegw/sluice/sync"
)

// Server is the data plane: gnet event loops proxying HTTP/1.1 to the
// upstreams the current snapshot names.
type Server struct {
	opts  Options
	store *cfgsync.Store

	serverHeader []byte
	start        time.Time
	dialq        chan *dialJob
	parkq        chan parkTask

	engMu   stdsync.Mutex // guards eng, loops, loopIDs; taken when a loop is first seen and by the ticker, never on a request
	eng     gnet.Engine
	loops   []*loop
	loopIDs map[gnet.EventLoop]*loop

	draining atomic.Bool
	// loopClients[i] is loop i's open client count, published each tick so
	// Shutdown can wait for zero without touching loop state.
	loopClients []atomic.Int64

	stats Stats

	served    chan struct{} // closed when Serve returns
	ready     chan struct{} // closed when every loop is running (first tick)
	readyOnce stdsync.Once
}

// Stats are gauges for shutdown and tests, changed per connection (never
// per request: a shared counter per request would bounce one cache line
// between the loops). Safe to read from any goroutine.
type Stats struct {
	ClientsOpen   atomic.Int64 // open client connections
	UpstreamsOpen atomic.Int64 // open upstream connections (busy or pooled)
}

// New prepares a server; Serve starts it. store is read once per request.
func New(opts Options, store *cfgsync.Store) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		opts:         opts,
		store:        store,
		serverHeader: []byte(opts.ServerHeader),
		dialq:        make(chan *dialJob, 4096),
		parkq:        make(chan parkTask, opts.ParkQueue),
		loopIDs:      make(map[gnet.EventLoop]*loop),
		loopClients:  make([]atomic.Int64, opts.Loops),
		served:       make(chan struct{}),
		ready:        make(chan struct{}),
	}
	return s, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Ready is closed once the server accepts connections: every loop has its
// poller and listener and is running. It is never closed if Serve fails to
// start the loops.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Serve runs the event loops until Shutdown; it returns nil after a clean
// shutdown and the listen or engine error otherwise.
func (s *Server) Serve() error {
	defer close(s.served)
	s.start = time.Now()
	stopDialers := s.startDialers()
	defer stopDialers()
	stopWorkers := s.startWorkers()
	defer stopWorkers()
	addrs := make([]string, len(s.opts.Listen))
	for i, a := range s.opts.Listen {
		addrs[i] = "tcp://" + a
	}
	h := &handler{s: s}
	err := gnet.Rotate(h, addrs,
		gnet.WithNumEventLoop(s.opts.Loops),
		gnet.WithReusePort(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithTicker(true),
		gnet.WithLogger(gnetLogger{s.opts.Logger}),
	)
	if err != nil {
		return fmt.Errorf("engine: serving %v: %w", s.opts.Listen, err)
	}
	return nil
}

// Shutdown stops accepting connections, lets in-flight requests finish
// (each client connection closes after its current response; idle ones
// close at once) and stops the loops when every client is gone or ctx ends,
// whichever is first; the grace period is Options.ShutdownGrace if ctx has
// no deadline. It returns once Serve has returned.
func (s *Server) Shutdown(ctx context.Context) error {
	select {
	case <-s.ready:
	case <-s.served: // Serve failed before the loops ran; nothing to stop
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.ShutdownGrace)
		defer cancel()
	}
	s.draining.Store(true)
	s.engMu.Lock()
	eng := s.eng
	s.engMu.Unlock()
	if err := eng.StopAccepting(); err != nil && !errors.Is(err, context.Canceled) {
		s.opts.Logger.Warn("stop accepting", "err", err)
	}
	s.opts.Logger.Info("draining connections", "grace", s.opts.ShutdownGrace)
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
wait:
	for s.stats.ClientsOpen.Load() > 0 {
		select {
		case <-ctx.Done():
			s.opts.Logger.Warn("grace period over, closing remaining connections", "open", s.stats.ClientsOpen.Load())
			break wait
		case <-t.C:
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := eng.Stop(stopCtx)
	<-s.served
	return err
}

// startWorkers runs Options.Workers goroutines for parked plugin work. It
// returns a function that stops them once the loops are gone.
func (s *Server) startWorkers() (stop func()) {
	done := make(chan struct{})
	var wg stdsync.WaitGroup
	for range s.opts.Workers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				case t := <-s.parkq:
					s.runParked(t)
				}
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

func (s *Server) ticksSinceStart() int64 {
	return int64(time.Since(s.start) / s.opts.Tick)
}

// loopOf returns the state of gnet loop el, creating it the first time a
// connection shows up there (gnet does not list its loops).
func (s *Server) loopOf(el gnet.EventLoop) *loop {
	s.engMu.Lock()
	defer s.engMu.Unlock()
	if l := s.loopIDs[el]; l != nil {
		return l
	}
	l := newLoop(s, el, len(s.loops))
	s.loops = append(s.loops, l)
	s.loopIDs[el] = l
	return l
}

func (s *Server) reportLoop(id, clients int) {
	if id < len(s.loopClients) {
		s.loopClients[id].Store(int64(clients))
	}
}

// handler adapts gnet's callbacks to connection state. Each callback runs
// on the connection's loop.
type handler struct {
	gnet.BuiltinEventEngine
	s *Server
}

var _ gnet.EventHandler = (*handler)(nil)
var _ gnet.OutboundDrainHandler = (*handler)(nil)

// OnBoot runs before gnet creates any loop: loop 0's listener is bound (so a
// connect already succeeds, into the backlog) but no poller, no other
// listener and no loop goroutine exists yet. Ready waits for the first tick.
func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	h.s.engMu.Lock()
	h.s.eng = eng
	h.s.engMu.Unlock()
	return gnet.None
}

func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if up, ok := c.Context().(*upConn); ok {
		up.onOpen(c)
		return nil, gnet.None
	}
	h.s.loopOf(c.EventLoop()).openClient(c)
	return nil, gnet.None
}

func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	switch x := c.Context().(type) {
	case *clientConn:
		x.enter()
		x.onReadable()
		x.leave()
	case *upConn:
		x.onReadable()
	}
	return gnet.None
}

func (h *handler) OnClose(c gnet.Conn, _ error) gnet.Action {
	switch x := c.Context().(type) {
	case *clientConn:
		x.enter()
		x.onClosed()
		x.leave()
	case *upConn:
		x.onClosed()
	}
	return gnet.None
}

func (h *handler) OnOutboundDrained(c gnet.Conn) gnet.Action {
	switch x := c.Context().(type) {
	case *clientConn:
		x.enter()
		x.onDrained()
		x.leave()
	case *upConn:
		x.onDrained()
	}
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine, not a loop: it hands each loop a
// tick through Execute. gnet starts the ticker only once every loop has its
// poller and listeners and its goroutine (engine.start), so the first tick
// is when the server is ready.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	s := h.s
	s.readyOnce.Do(func() {
		close(s.ready)
		s.opts.Logger.Info("listening", "addrs", s.opts.Listen, "loops", s.opts.Loops)
	})
	s.engMu.Lock()
	loops := s.loops
	s.engMu.Unlock()
	now := time.Now()
	for _, l := range loops {
		l := l
		_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			l.onTick(now)
			return nil
		}))
	}
	return s.opts.Tick, gnet.None
}

// addrOf returns a connection address's IP (IPv4-mapped ones unmapped)
// and port.
func addrOf(a net.Addr) (netip.Addr, int) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap(), ta.Port
	}
	return netip.Addr{}, 0
}
