// Package router compares sluice's router with httprouter (the baseline the
// router issue names) on the same route sets, in the same run, with lookups
// drawn from the whole table (one per route, in random order: issue 13),
// so a large table is as cold as on an edge whose traffic is spread over
// its routes. It has only benchmarks: go test -run XXX -bench . -benchmem
// ./bench/router (BENCHMARKS.md has the numbers and the command).
package router
