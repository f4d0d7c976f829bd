package balancer

import (
	"math"
	"time"
)

// DecayTime is the time constant of the latency EWMA: a sample's weight
// falls by e every DecayTime (APISIX's ewma.lua DECAY_TIME, 10 s).
const DecayTime = 10 * time.Second

// NodeStats is one event loop's live load on one node: requests in flight
// and a peak EWMA of latency. The engine keeps one per node per loop and
// drives it around every attempt (an attempt is one try of one request on
// one node):
//
//   - Started, when Pick has chosen the node for the attempt, before a
//     pooled connection is taken or a dial starts (a connect in progress
//     is load, and the latency includes the connect, as APISIX's
//     upstream_connect_time + upstream_response_time does);
//   - Responded, when the node's response head has been parsed, with the
//     time since Started;
//   - Finished, exactly once per Started, when the attempt is over however
//     it ended: response relayed (or the upgraded stream closed), connect
//     error, timeout, reset, client gone.
//
// A failed attempt calls Finished without Responded: it adds no latency
// sample (APISIX neither). Passive health checks, not the EWMA, are what
// take a failing node out.
//
// Loop-only: the owning loop is the only reader and writer. The zero value
// is an idle node with no samples; the engine zeroes it when the node
// leaves the configuration.
type NodeStats struct {
	// InFlight is the attempts this loop has in flight on the node
	// (Started minus Finished, never below zero). Read-only outside the
	// methods below.
	InFlight int

	ewma  float64 // latency in ns, as of stamp
	stamp int64   // Now() of the last sample
}

// Started records an attempt beginning on the node.
func (s *NodeStats) Started() { s.InFlight++ }

// Finished records an attempt ending. A Finished with nothing in flight
// (the stats were zeroed while the attempt ran) is ignored.
func (s *NodeStats) Finished() {
	if s.InFlight > 0 {
		s.InFlight--
	}
}

// Responded feeds the latency rtt of one attempt, measured from Started to
// the response head, observed at now (on the Now clock), into the peak
// EWMA: a sample above the average replaces it at once (the "peak"), a
// sample below pulls it down with weight 1-exp(-Δt/DecayTime), Δt being the
// time since the previous sample. That is Finagle's PeakEwma.observe;
// APISIX's ewma.lua (which cites it) keeps only the second rule, so a
// latency spike shows in sluice's estimate at once instead of after many
// samples.
func (s *NodeStats) Responded(rtt time.Duration, now int64) {
	v := float64(max(rtt, 0))
	if v > s.ewma {
		s.ewma = v
	} else {
		w := decayWeight(now - s.stamp)
		s.ewma = s.ewma*w + v*(1-w)
	}
	s.stamp = now
}

// Latency returns the node's latency estimate at now: the EWMA decayed
// toward zero for the time since its last sample, which is what ewma
// compares. A node nobody has measured (or not for long) reads near zero,
// so it gets tried again.
func (s *NodeStats) Latency(now int64) time.Duration {
	return time.Duration(s.decayed(now))
}

// decayed is APISIX's score: the stored EWMA decayed as if a sample of 0
// arrived now (get_or_update_ewma(name, 0, false)).
func (s *NodeStats) decayed(now int64) float64 {
	if s.ewma == 0 {
		return 0
	}
	return s.ewma * decayWeight(now-s.stamp)
}

// decayWeight is exp(-dt/DecayTime); dt <= 0 weighs 1.
func decayWeight(dt int64) float64 {
	if dt <= 0 {
		return 1
	}
	return math.Exp(-float64(dt) / float64(DecayTime))
}
