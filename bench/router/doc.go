// Package router compares sluice's router with httprouter (the baseline the
// router issue names) on the same route sets, in the same run. It has only
// benchmarks: go test -run XXX -bench . -benchmem ./bench/router (BENCHMARKS.md
// has the numbers and the command).
package router
