// Package e2e holds black-box tests: they build the sluice binary, run it as
// a separate process with real config files, and talk to it over loopback
// with real upstreams. They observe only what a user can: responses, exit
// codes, log lines, and the process's own counters (/proc).
//
// TestMain builds the binary once per run. Long variants (the full 1 GiB at
// 1 MiB/s memory test) run when SLUICE_LONG_TESTS=1.
package e2e
