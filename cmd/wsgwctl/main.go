package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(Main())
}

// Main runs wsgwctl with the process's arguments, standard streams and
// environment and returns its exit status. SIGINT and SIGTERM cancel the
// commands' context, so that serve, up and connect stop gracefully. Tests
// register it as the `wsgwctl` command of their testscript transcripts.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills the process the default
	// way, for a user who does not want to wait for a graceful stop.
	context.AfterFunc(ctx, stop)
	return runContext(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
}
