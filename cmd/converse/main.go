// Command converse is a self-hosted Amazon Bedrock Runtime: it serves the
// Converse API on Bedrock's wire protocol and routes each model ID to a
// backend.
//
//	converse serve [--addr 127.0.0.1:8080] [--config converse.yaml]
//	converse models [--config converse.yaml]
//	converse pull NAME-or-URL
//	converse version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "converse:", err)
		}
		os.Exit(2)
	}
}

// run dispatches to a subcommand; each lives in its own file.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return (&ServeCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, args[1:])
	case "models":
		return (&ModelsCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, args[1:])
	case "pull":
		return (&PullCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, args[1:])
	case "bench-engine":
		return (&BenchEngineCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, args[1:])
	case "version":
		fmt.Fprintln(stdout, "converse", version)
		return nil
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprint(w, `converse: a self-hosted Amazon Bedrock Converse API

Usage:
  converse serve   [--addr 127.0.0.1:8080] [--config FILE]   serve the Bedrock Runtime API
  converse models  [--config FILE]                          list the models served and by what
  converse pull    NAME-or-URL                              download a GGUF model for the local engine
  converse bench-engine FILE.gguf                           prompt and decode tokens/s of the local engine
  converse version                                          print the version
`)
}
