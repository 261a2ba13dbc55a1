// Command sluice serves the AWS messaging APIs (SQS, SNS, Kinesis, Firehose)
// from Sluice's storage engine.
//
//	sluice serve [flags]   run the server (see sluice serve -h)
//	sluice version         print the version
//
// Subcommands live one per file and add themselves with registerCommand.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := reexecSteadySysmon(); err != nil {
		fmt.Fprintf(os.Stderr, "sluice: re-executing with GODEBUG=%s failed, running with the Go runtime's defaults: %v\n", steadySysmonGODEBUG, err)
	}
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
