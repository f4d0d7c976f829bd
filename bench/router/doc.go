// Package router compares sluice's router with httprouter (the baseline the
// router issue names) on the same route sets, in the same run. It has only
// tests; bench/router.sh runs them and prints medians and ratios.
package router
