package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wsgwctl/wsgwctl/runtime"
	"github.com/wsgwctl/wsgwctl/state"
)

func init() {
	registerCommand(newServeCmd)
}

// serveFlags are the flags of serve and up (CLI-9, CLI-10).
type serveFlags struct {
	listen        string
	adminListen   string
	tlsCert       string
	tlsKey        string
	idleTimeout   time.Duration
	maxDuration   time.Duration
	grace         time.Duration
	logFormat     string
	logLevel      string
	watchInterval time.Duration
	region        string
	account       string
	maxConns      int
	maxConnsPerIP int
	newConnsPerIP int

	// listener, when set, is served instead of listening on listen (demo
	// opens it early to tell the backend its address).
	listener net.Listener
}

func (f *serveFlags) register(flags *pflag.FlagSet) {
	flags.StringVar(&f.listen, "listen", "127.0.0.1:8080", "serve stages and the @connections API on `ADDR` (host:port; port 0 picks a free port)")
	flags.StringVar(&f.adminListen, "admin-listen", "127.0.0.1:9090", "serve /healthz, /readyz, /metrics and /status on `ADDR`; \"off\" disables the admin listener")
	flags.StringVar(&f.tlsCert, "tls-cert", "", "serve wss:// with the certificate chain in `FILE` (PEM; needs --tls-key)")
	flags.StringVar(&f.tlsKey, "tls-key", "", "private key of --tls-cert, in `FILE` (PEM)")
	flags.DurationVar(&f.idleTimeout, "idle-timeout", runtime.DefaultIdleTimeout, "close connections without data traffic for `DURATION` (1001 Going away)")
	flags.DurationVar(&f.maxDuration, "max-connection-duration", runtime.DefaultMaxConnectionDuration, "close connections open for `DURATION` (1001 Going away)")
	flags.DurationVar(&f.grace, "shutdown-grace", 10*time.Second, "on SIGINT/SIGTERM, wait up to `DURATION` for connections to close and $disconnect calls to finish")
	flags.StringVar(&f.logFormat, "log-format", "text", "server log format on stderr: text or json")
	flags.StringVar(&f.logLevel, "log-level", "info", "server log level: debug, info, warn or error")
	flags.StringVar(&f.region, "region", "local", "`REGION` in the method ARN authorizers are asked about (D-45)")
	flags.StringVar(&f.account, "account", "000000000000", "`ACCOUNT` id in the method ARN authorizers are asked about (D-45)")
	flags.IntVar(&f.maxConns, "max-connections", runtime.DefaultMaxConnections, "refuse handshakes (503) beyond `N` open connections")
	flags.IntVar(&f.maxConnsPerIP, "max-connections-per-ip", runtime.DefaultMaxConnectionsPerIP, "refuse handshakes (503) from an address that has `N` open connections")
	flags.IntVar(&f.newConnsPerIP, "new-connections-per-ip", runtime.DefaultNewConnectionsPerIP, "refuse handshakes (429) from an address that starts more than `N` per second")
	flags.DurationVar(&f.watchInterval, "watch-interval", runtime.DefaultWatchInterval, "look for a new state every `DURATION`")
	_ = flags.MarkHidden("watch-interval")
}

// check validates the flags' values (D-10: usage errors name the flag).
func (f *serveFlags) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--idle-timeout", f.idleTimeout}, {"--max-connection-duration", f.maxDuration}, {"--shutdown-grace", f.grace}, {"--watch-interval", f.watchInterval}} {
		if d.v <= 0 {
			return usagef("invalid value %s for %s: must be a positive duration such as 10m or 1500ms", d.v, d.name)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"--max-connections", f.maxConns}, {"--max-connections-per-ip", f.maxConnsPerIP}, {"--new-connections-per-ip", f.newConnsPerIP}} {
		if n.v <= 0 {
			return usagef("invalid value %d for %s: must be a positive number", n.v, n.name)
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key must be given together")
	}
	switch f.logFormat {
	case "text", "json":
	default:
		return usagef("invalid value %q for --log-format: use text or json", f.logFormat)
	}
	if _, err := parseLogLevel(f.logLevel); err != nil {
		return err
	}
	return nil
}

func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, usagef("invalid value %q for --log-level: use debug, info, warn or error", s)
	}
	return l, nil
}

// newServeCmd returns `wsgwctl serve` (CLI-9).
func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve every applied stage as a WebSocket gateway",
		Long: "Serves each applied stage at ws://LISTEN/{api}/{stage} and the @connections API at\n" +
			"http://LISTEN/{api}/{stage}/@connections/{id}. A later apply is picked up within a second\n" +
			"without dropping connections. SIGINT or SIGTERM closes every connection with 1001\n" +
			"\"Going away\", runs their $disconnect routes and exits.\n\n" +
			"Exit status: 0 after a clean shutdown, 1 on error.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if err := a.prepare(); err != nil {
				return err
			}
			g, err := a.startGateway(cmd.Context(), &f)
			if err != nil {
				return err
			}
			return g.run(cmd.Context())
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// gateway is a running runtime.Server with its listeners and state watcher.
type gateway struct {
	a      *app
	flags  *serveFlags
	srv    *runtime.Server
	admin  *http.Server
	cancel context.CancelFunc
	done   chan error // Serve's outcome
	wait   func()     // waits for the watcher and the admin listener
	addr   net.Addr
}

// startGateway loads the applied state, opens the listeners and serves
// until stop. It prints where it serves to stdout.
func (a *app) startGateway(ctx context.Context, f *serveFlags) (*gateway, error) {
	level, _ := parseLogLevel(f.logLevel)
	hopts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewTextHandler(a.stderr, hopts)
	if f.logFormat == "json" {
		handler = slog.NewJSONHandler(a.stderr, hopts)
	}
	logger := slog.New(handler)

	path := a.statePath()
	st, err := state.Read(path)
	if err != nil {
		return nil, err
	}
	srv := runtime.NewServer(runtime.Options{
		Logger:                logger,
		IdleTimeout:           f.idleTimeout,
		MaxConnectionDuration: f.maxDuration,
		AccessLogStdout:       a.stdout,
		AccessLogStderr:       a.stderr,
		Dir:                   a.configDir(),
		Region:                f.region,
		Account:               f.account,
		MaxConnections:        f.maxConns,
		MaxConnectionsPerIP:   f.maxConnsPerIP,
		NewConnectionsPerIP:   f.newConnsPerIP,
	})
	fail := func(err error) (*gateway, error) {
		_ = srv.Shutdown(context.Background())
		return nil, err
	}
	if st == nil {
		logger.Warn("no applied state yet; stages are served once `wsgwctl apply` writes one", "state", path)
	} else if err := srv.Load(st); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}

	ln := f.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", f.listen); err != nil {
			return fail(fmt.Errorf("--listen %s: %w", f.listen, err))
		}
	}
	scheme := "ws"
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(a.resolvePath(f.tlsCert), a.resolvePath(f.tlsKey))
		if err != nil {
			_ = ln.Close()
			return fail(fmt.Errorf("--tls-cert %s / --tls-key %s: %w", f.tlsCert, f.tlsKey, err))
		}
		// domain_name certificates are chosen by SNI; --tls-cert serves
		// every other name.
		ln = tls.NewListener(ln, srv.TLSConfig(&cert))
		scheme = "wss"
	}
	var adminLn net.Listener
	if f.adminListen != "off" && f.adminListen != "" {
		if adminLn, err = net.Listen("tcp", f.adminListen); err != nil {
			_ = ln.Close()
			return fail(fmt.Errorf("--admin-listen %s: %w", f.adminListen, err))
		}
	}

	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g := &gateway{a: a, flags: f, srv: srv, cancel: cancel, done: make(chan error, 1), addr: ln.Addr()}
	go func() { g.done <- srv.Serve(ln) }()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		srv.WatchStateFile(wctx, path, f.watchInterval, func(err error) {
			logger.Error("new state not loaded; the previous one keeps serving", "error", err)
		})
	}()
	adminDone := make(chan struct{})
	if adminLn != nil {
		g.admin = &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			defer close(adminDone)
			if err := g.admin.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("admin listener failed", "error", err)
			}
		}()
	} else {
		close(adminDone)
	}
	g.wait = func() {
		<-watchDone
		<-adminDone
	}

	fmt.Fprintf(a.stdout, "Serving on %s://%s\n", scheme, ln.Addr())
	if adminLn != nil {
		fmt.Fprintf(a.stdout, "Admin on http://%s (/healthz, /readyz, /metrics, /status)\n", adminLn.Addr())
	}
	g.printStages(scheme)
	return g, nil
}

// printStages prints the URL of every served stage.
func (g *gateway) printStages(scheme string) {
	status := g.srv.Status()
	var b strings.Builder
	for _, api := range status.APIs {
		for _, st := range api.Stages {
			fmt.Fprintf(&b, "  %s://%s%s  (deployment %s; @connections at http%s://%s%s)\n",
				scheme, g.addr, st.Path, st.Deployment, strings.TrimPrefix(scheme, "ws"), g.addr, st.Path)
		}
	}
	if b.Len() == 0 {
		b.WriteString("  (no stages applied yet)\n")
	}
	fmt.Fprint(g.a.stdout, b.String())
}

// run serves until ctx ends or the listener fails, then stops.
func (g *gateway) run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case err := <-g.done:
		g.done <- err // stop reports it
	}
	return g.stop()
}

// stop shuts the gateway down gracefully (RT-31) within the grace period.
func (g *gateway) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), g.flags.grace)
	defer cancel()
	err := g.srv.Shutdown(ctx)
	g.cancel()
	if g.admin != nil {
		_ = g.admin.Shutdown(ctx)
	}
	g.wait()
	if serr := <-g.done; serr != nil {
		return fmt.Errorf("serve %s: %w", g.addr, serr)
	}
	if err != nil {
		fmt.Fprintf(g.a.stderr, "Warning: shutdown grace period of %s ended; remaining connections were dropped.\n", g.flags.grace)
	}
	fmt.Fprintln(g.a.stdout, "Gateway stopped.")
	return nil
}
