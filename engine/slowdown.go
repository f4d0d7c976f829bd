//go:build sluice_slowdown

package engine

import "time"

// slowdown is the deliberate regression bench/suite's compare is shown to
// detect: built with -tags sluice_slowdown, every request spins this long
// on its loop before routing. Never part of a normal build.
const slowdown = time.Microsecond

// benchSlowdown spins for slowdown (time.Now is a vDSO call, ~20-50 ns).
func benchSlowdown() {
	for start := time.Now(); time.Since(start) < slowdown; {
	}
}
