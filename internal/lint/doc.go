// Package lint turns house rules into failing tests (pebble's
// internal/lint): the package import table of shared/DESIGN.md, and the
// patterns STYLE.md forbids. It has no non-test code.
package lint
