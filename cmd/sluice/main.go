// Command sluice serves the AWS messaging APIs (SQS, SNS, Kinesis, Firehose)
// from Sluice's storage engine.
//
//	sluice serve [flags]   run the server (see sluice serve -h)
//	sluice version         print the version
//
// Subcommands live one per file and add themselves with registerCommand.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
