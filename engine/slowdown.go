//go:build sluice_slowdown

package engine

import "runtime"

// slowdownRounds of xorshift are the deliberate regression bench/suite's
// compare is shown to detect: built with -tags sluice_slowdown, every request
// does this much work on its loop before routing, ~1 µs of CPU (1.7 ns a
// round on the 2-vCPU EPYC of BENCHMARKS.md at its quietest; up to twice
// that when the machine is busy). Fixed work rather than a spin on the
// clock, so preemption does not cut it short. Never part of a normal build.
const slowdownRounds = 600

func benchSlowdown() {
	x := uint64(0x9e3779b97f4a7c15)
	for range slowdownRounds {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	runtime.KeepAlive(x)
}
