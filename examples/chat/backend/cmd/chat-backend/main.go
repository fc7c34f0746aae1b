package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgwctl/wsgwctl/examples/chat/backend"
)

// Defaults of the flags: the chat example's backend_url default, and the
// gateway's default listener with the chat API's dev stage.
const (
	defaultListen  = "127.0.0.1:9000"
	defaultGateway = "http://127.0.0.1:8080/chat/dev"
)

// shutdownGrace bounds how long in-flight requests may run after a signal.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags and serves until ctx is done, returning the exit
// code: 0 after a clean shutdown, 1 when serving fails, 2 for bad usage.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("chat-backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", defaultListen, "`address` to serve the backend on (the chat example's backend_url)")
	gateway := fs.String("gateway", defaultGateway, "base `URL` of the gateway's @connections API for the chat stage")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chat-backend: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := checkGateway(*gateway); err != nil {
		fmt.Fprintf(stderr, "chat-backend: --gateway: %v\n", err)
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("chat backend failed", "error", fmt.Errorf("listen on %s: %w", *listen, err))
		return 1
	}
	if err := serve(ctx, log, ln, *gateway); err != nil {
		log.Error("chat backend failed", "error", err)
		return 1
	}
	return 0
}

// checkGateway reports whether raw is an absolute http or https URL.
func checkGateway(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL with a host", raw)
	}
	return nil
}

// serve runs the backend on ln until ctx is done, then shuts down,
// letting in-flight requests finish within shutdownGrace.
func serve(ctx context.Context, log *slog.Logger, ln net.Listener, gateway string) error {
	srv := &http.Server{
		Handler:           backend.New(backend.Options{Gateway: gateway, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("chat backend listening", "address", ln.Addr().String(), "gateway", gateway)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("chat backend shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	<-served // http.ErrServerClosed once Shutdown has begun.
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
