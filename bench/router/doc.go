// Package router compares sluice's router with httprouter (the baseline the
// router issue names) on the same route sets, in the same run, with lookups
// drawn from the whole table (one per route, in random order: issue 13),
// so a large table is as cold as on an edge whose traffic is spread over
// its routes. It has only benchmarks, named <shape>/<routes>/router=<name>
// so that benchstat puts the two routers side by side:
//
//	go test -run XXX -bench 'Compare/.*/^100000$' -benchmem -count 10 ./bench/router > router.txt
//	go tool benchstat -col '/router@(httprouter sluice)' router.txt
//
// BENCHMARKS.md has the numbers.
package router
