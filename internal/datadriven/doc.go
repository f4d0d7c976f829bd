// Package datadriven runs golden test files: each case is a command line,
// input lines, a "----" separator and the expected output, separated from the
// next case by a blank line. Lines starting with '#' outside a case are
// comments. A test function turns (command, input) into output; the runner
// compares. With -rewrite the files are rewritten with the actual output.
//
// Modelled on cockroachdb/datadriven as used by pebble; small enough that
// sluice does not take the dependency.
package datadriven
