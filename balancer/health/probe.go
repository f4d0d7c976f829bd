package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/config"
)

// probeAll probes list with up to checks.active.concurrency goroutines,
// each probe also holding one of the Manager's MaxProbes slots, and counts
// every result. It returns when all are done or the group is stopping.
func (g *group) probeAll(list []*target) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(g.checks.Active.Concurrency, len(list)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(list) {
					return
				}
				select {
				case g.m.sem <- struct{}{}:
				case <-g.ctx.Done():
					return
				}
				o, ok := g.probe(g.ctx, list[i])
				<-g.m.sem
				if !ok {
					return // stopping: the result means nothing
				}
				g.countActive(list[i], o)
			}
		})
	}
	wg.Wait()
}

// countActive counts one probe result against the active thresholds, as
// lua-resty-healthcheck's run_single_check reports it: a status in neither
// list counts for nothing; a status line that did not parse (status 0) is
// an HTTP failure.
func (g *group) countActive(t *target, o Outcome) {
	a := &g.checks.Active
	var changed bool
	switch {
	case o == probeOK:
		changed = t.count(ctrSuccess, a.Healthy.Successes)
	case o == TCPFailure:
		changed = t.count(ctrTCP, a.Unhealthy.TCPFailures)
	case o == Timeout:
		changed = t.count(ctrTimeout, a.Unhealthy.Timeouts)
	case a.Healthy.Statuses.Has(int(o)):
		changed = t.count(ctrSuccess, a.Healthy.Successes)
	case a.Unhealthy.Statuses.Has(int(o)) || o == 0:
		changed = t.count(ctrHTTP, a.Unhealthy.HTTPFailures)
	}
	if changed {
		g.wake()
	}
	if ev := g.m.o.Events.ProbeDone; ev != nil {
		ev(ProbeResult{Owner: g.owner, Target: t.addr, Outcome: o, State: t.state()})
	}
}

// longAgo is a deadline in the past: setting it aborts blocked I/O.
var longAgo = time.Unix(1, 0)

// probe runs one active check of t. Every step (connect, TLS handshake,
// send, receive the status line) is bounded by checks.active.timeout, and
// cancelling ctx aborts whichever step is running. ok is false when ctx was
// cancelled: the group is stopping and the result must not count.
func (g *group) probe(ctx context.Context, t *target) (o Outcome, ok bool) {
	a := &g.checks.Active
	timeout := a.Timeout.Duration()
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return failure(err), ctx.Err() == nil
	}
	defer func() {
		_ = conn.Close() // a probe connection; nothing to flush
		ok = ok && ctx.Err() == nil
	}()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(longAgo) })
	defer stop()
	if a.Kind == config.CheckTCP {
		return probeOK, true
	}
	// arm gives the next step its own deadline. Setting one overwrites the
	// past deadline a cancellation may have set a moment before, so arm
	// checks ctx after setting it: cancelled before, the step is not
	// started; cancelled after, the AfterFunc's deadline lands last.
	raw := conn
	arm := func() bool {
		_ = raw.SetDeadline(time.Now().Add(timeout))
		return ctx.Err() == nil
	}
	if t.tls != nil {
		if !arm() {
			return Timeout, false
		}
		tc := tls.Client(conn, t.tls)
		if err := tc.Handshake(); err != nil {
			// lua-resty-healthcheck counts any failed handshake (a
			// certificate it does not trust included) as a TCP failure.
			return TCPFailure, true
		}
		conn = tc
	}
	if !arm() {
		return Timeout, false
	}
	if _, err := conn.Write(t.request); err != nil {
		return failure(err), true
	}
	if !arm() {
		return Timeout, false
	}
	line, err := bufio.NewReaderSize(conn, 256).ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		return failure(err), true
	}
	return HTTPStatus(statusOf(line)), true
}

// failure classifies a probe's I/O error: a timeout, or a TCP failure.
func failure(err error) Outcome {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	return TCPFailure
}

// statusOf parses a status line as lua-resty-healthcheck does
// (^HTTP/\d+\.\d+\s+(\d+), case-insensitive) and returns the code, or 0
// when the line does not match.
func statusOf(line []byte) int {
	const prefix = "http/"
	if len(line) < len(prefix) {
		return 0
	}
	for i := range len(prefix) {
		if line[i]|0x20 != prefix[i] {
			return 0
		}
	}
	i := len(prefix)
	digits := func() bool {
		j := i
		for i < len(line) && line[i] >= '0' && line[i] <= '9' {
			i++
		}
		return i > j
	}
	if !digits() || i >= len(line) || line[i] != '.' {
		return 0
	}
	i++
	if !digits() {
		return 0
	}
	j := i
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n' || line[i] == '\f' || line[i] == '\v') {
		i++
	}
	if i == j {
		return 0
	}
	code := 0
	j = i
	for i < len(line) && line[i] >= '0' && line[i] <= '9' && i-j < 9 {
		code = code*10 + int(line[i]-'0')
		i++
	}
	if i == j {
		return 0
	}
	return code
}
