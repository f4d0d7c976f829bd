//go:build !sluice_slowdown

package engine

// benchSlowdown does nothing (and is inlined away) unless sluice is built
// with -tags sluice_slowdown; see slowdown.go.
func benchSlowdown() {}
