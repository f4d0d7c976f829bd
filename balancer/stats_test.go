package balancer

import (
	"math"
	"testing"
	"time"
)

const sec = int64(time.Second)

func TestNodeStatsInFlight(t *testing.T) {
	var s NodeStats
	s.Started()
	s.Started()
	s.Finished()
	if s.InFlight != 1 {
		t.Fatalf("in flight %d, want 1", s.InFlight)
	}
	s.Finished()
	s.Finished() // the stats were zeroed under a running attempt
	if s.InFlight != 0 {
		t.Fatalf("in flight %d, want 0", s.InFlight)
	}
}

func near(a, b time.Duration) bool { return math.Abs(float64(a-b)) <= float64(b)*1e-9+1 }

func TestNodeStatsPeakEWMA(t *testing.T) {
	var s NodeStats
	if s.Latency(100*sec) != 0 {
		t.Fatal("unmeasured node has latency")
	}
	t0 := 100 * sec
	s.Responded(10*time.Millisecond, t0) // first sample: taken whole
	if got := s.Latency(t0); got != 10*time.Millisecond {
		t.Fatalf("after first sample %v", got)
	}
	s.Responded(50*time.Millisecond, t0+1) // a peak: taken whole at once
	if got := s.Latency(t0 + 1); got != 50*time.Millisecond {
		t.Fatalf("after a peak %v, want 50ms", got)
	}
	// A lower sample 10 s later weighs 1-1/e.
	s.Responded(10*time.Millisecond, t0+1+10*sec)
	e := math.E
	want := time.Duration(50e6/e + 10e6*(1-1/e))
	if got := s.Latency(t0 + 1 + 10*sec); !near(got, want) {
		t.Fatalf("after a lower sample 10 s on: %v, want %v", got, want)
	}
	// With no samples, the estimate decays toward zero: 1/e per 10 s.
	if got := s.Latency(t0 + 1 + 20*sec); !near(got, time.Duration(float64(want)/math.E)) {
		t.Fatalf("decayed %v, want %v", got, time.Duration(float64(want)/math.E))
	}
	// Reading at or before the last sample does not decay.
	if got := s.Latency(t0); !near(got, want) {
		t.Fatalf("read before the sample: %v, want %v", got, want)
	}
	// Samples close together barely move a high estimate (a burst of
	// fast responses does not erase a spike at once).
	var p NodeStats
	p.Responded(time.Second, 0)
	for i := range 100 {
		p.Responded(time.Millisecond, int64(i+1)*int64(time.Millisecond))
	}
	if got := p.Latency(100 * int64(time.Millisecond)); got < 900*time.Millisecond {
		t.Fatalf("100 fast samples in 100 ms pulled a 1 s peak down to %v", got)
	}
}
