// Command sluice is the gateway binary; see cli.go for its subcommands.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
