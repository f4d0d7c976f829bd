package engine

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// Defaults for Options. Timeouts follow nginx/APISIX defaults.
const (
	DefaultClientHeaderTimeout = 60 * time.Second // nginx client_header_timeout
	DefaultClientBodyTimeout   = 60 * time.Second // nginx client_body_timeout
	DefaultKeepaliveTimeout    = 60 * time.Second // APISIX keepalive_timeout
	DefaultSendTimeout         = 10 * time.Second // APISIX send_timeout
	DefaultUpstreamTimeout     = 60 * time.Second // connect, send and read (nginx proxy_*_timeout)
	DefaultKeepalivePoolSize   = 320              // idle connections per upstream node per loop
	DefaultKeepaliveRequests   = 1000             // requests per upstream connection
	DefaultKeepaliveIdle       = 60 * time.Second // idle upstream connection lifetime
	DefaultSurplusGrace        = time.Second      // idle connections over the pool size live this long (pool.go)
	DefaultKeepaliveHardCap    = 16384            // idle connections per node per loop, whatever the grace
	DefaultHighWater           = 256 << 10        // outbound bytes before the producing side is paused
	DefaultMaxBufferedInput    = 64 << 10         // client bytes held while a request is in flight
	DefaultDiscardLimit        = 1 << 20          // request body bytes read and dropped after an early response
	DefaultDiscardTimeout      = 5 * time.Second  // time allowed for that (nginx lingering_timeout)
	DefaultShutdownGrace       = 10 * time.Second
	DefaultTick                = 100 * time.Millisecond
	DefaultDialers             = 64
	DefaultWorkers             = 256  // goroutines running parked plugin work
	DefaultParkQueue           = 4096 // parked requests waiting for a worker
)

// Options configures a Server. Zero fields take the Default* values
// (withDefaults); Validate rejects the rest that make no sense.
type Options struct {
	// Listen is the addresses to accept on ("0.0.0.0:9080", "[::]:9080").
	Listen []string
	// Loops is the number of event loops. Zero means GOMAXPROCS.
	Loops int
	// Limits bound request heads and bodies (http1 defaults when zero).
	Limits http1.Limits

	// ClientHeaderTimeout bounds reading a request head (slowloris).
	ClientHeaderTimeout time.Duration
	// ClientBodyTimeout bounds the gap between two reads of a request body.
	ClientBodyTimeout time.Duration
	// KeepaliveTimeout closes an idle client connection.
	KeepaliveTimeout time.Duration
	// SendTimeout closes a client that accepts no response bytes for this long.
	SendTimeout time.Duration
	// UpstreamTimeout is the connect/send/read timeout when neither route
	// nor upstream sets one. Read is between two reads (nginx semantics).
	UpstreamTimeout time.Duration

	// KeepalivePoolSize, KeepaliveRequests and KeepaliveIdle are the
	// upstream keepalive defaults (an upstream's keepalive_pool overrides).
	// The pool is per node per event loop. Negative size disables pooling.
	KeepalivePoolSize int
	KeepaliveRequests int
	KeepaliveIdle     time.Duration
	// KeepaliveSurplusGrace is how long idle connections beyond the pool
	// size survive (engine/pool.go: closing them at once makes thousands
	// of clients re-dial what was just closed); KeepaliveHardCap bounds a
	// pool even within that grace. Zero means the defaults.
	KeepaliveSurplusGrace time.Duration
	KeepaliveHardCap      int

	// HighWater is the outbound bytes queued on one side of a proxied
	// exchange (client or upstream) above which reading from the other side
	// pauses until the queue drains. With gnet's read buffer (64 KiB) it
	// bounds the memory one exchange holds in each direction.
	HighWater int
	// MaxBufferedInput caps the client bytes held (pipelined requests,
	// bytes arriving while an upstream connection is being dialled) before
	// reading from the client pauses.
	MaxBufferedInput int

	// DiscardLimit and DiscardTimeout bound how much of a request body the
	// gateway reads and drops when the response ends first (an upstream's
	// early 401 or 413, a gateway error page): up to DiscardLimit bytes
	// within DiscardTimeout keep the connection usable; beyond either, or
	// when the rest is known to be larger, the connection is closed. Body
	// bytes are never read as the next request.
	DiscardLimit   int64
	DiscardTimeout time.Duration

	// TrustedAddresses are peers whose X-Forwarded-Proto/Host/Port are kept
	// (APISIX apisix.trusted_addresses); for others they are overwritten,
	// and, when the list is not empty, their X-Forwarded-For is dropped
	// before routing and plugins see it.
	TrustedAddresses []netip.Prefix
	// ServerHeader is the Server value on proxied and generated responses;
	// empty leaves upstream Server headers alone and adds none.
	ServerHeader string

	// ShutdownGrace bounds how long Shutdown waits for in-flight requests.
	ShutdownGrace time.Duration
	// Tick is the resolution of the loops' coarse clock and timers.
	Tick time.Duration
	// Dialers is the number of goroutines that dial upstream connections
	// to host names (DNS blocks).
	Dialers int
	// Workers is the number of goroutines that run the blocking work
	// plugin hooks park (a Redis call, an auth call), and ParkQueue how
	// many parked requests may wait for one; a request parked beyond that
	// is answered 503 rather than the loop waiting.
	Workers   int
	ParkQueue int

	// Logger receives engine events (start, stop, errors); nil discards.
	// Nothing is logged per request.
	Logger *slog.Logger

	// AccessLog, when set, is given every dispatched request once its log
	// phase has run, however it ended (nginx's access_log); nil logs
	// nothing.
	AccessLog AccessLogger
}

// AccessLogger receives finished requests. Log runs on the request's
// loop, after the plugins' log phase: it must not block, and must not keep
// c or anything it returns past the call.
type AccessLogger interface {
	Log(c *reqctx.Ctx)
}

func (o Options) withDefaults() Options {
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	o.Limits = o.Limits.WithDefaults()
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ClientHeaderTimeout, DefaultClientHeaderTimeout)
	def(&o.ClientBodyTimeout, DefaultClientBodyTimeout)
	def(&o.KeepaliveTimeout, DefaultKeepaliveTimeout)
	def(&o.SendTimeout, DefaultSendTimeout)
	def(&o.UpstreamTimeout, DefaultUpstreamTimeout)
	def(&o.KeepaliveIdle, DefaultKeepaliveIdle)
	def(&o.KeepaliveSurplusGrace, DefaultSurplusGrace)
	if o.KeepaliveHardCap <= 0 {
		o.KeepaliveHardCap = DefaultKeepaliveHardCap
	}
	def(&o.ShutdownGrace, DefaultShutdownGrace)
	def(&o.DiscardTimeout, DefaultDiscardTimeout)
	if o.DiscardLimit <= 0 {
		o.DiscardLimit = DefaultDiscardLimit
	}
	def(&o.Tick, DefaultTick)
	if o.KeepalivePoolSize == 0 {
		o.KeepalivePoolSize = DefaultKeepalivePoolSize
	}
	if o.KeepaliveRequests <= 0 {
		o.KeepaliveRequests = DefaultKeepaliveRequests
	}
	if o.HighWater <= 0 {
		o.HighWater = DefaultHighWater
	}
	if o.MaxBufferedInput <= 0 {
		o.MaxBufferedInput = DefaultMaxBufferedInput
	}
	if o.Dialers <= 0 {
		o.Dialers = DefaultDialers
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.ParkQueue <= 0 {
		o.ParkQueue = DefaultParkQueue
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if len(o.Listen) == 0 {
		return fmt.Errorf("engine: no listen address")
	}
	for _, a := range o.Listen {
		if _, err := netip.ParseAddrPort(a); err != nil {
			return fmt.Errorf("engine: listen address %q: %w", a, err)
		}
	}
	if o.Tick > time.Second {
		return fmt.Errorf("engine: tick %v is coarser than the 1s timeout granularity", o.Tick)
	}
	return nil
}
