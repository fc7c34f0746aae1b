package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgwctl/wsgwctl/runtime/apikey"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
	"github.com/wsgwctl/wsgwctl/runtime/observe"
	"github.com/wsgwctl/wsgwctl/runtime/throttle"
	"github.com/wsgwctl/wsgwctl/state"
)

// Limits of RT-20 and RT-2.
const (
	// MaxFrameSize is the largest frame payload a client may send, and the
	// largest frame the gateway sends (larger messages are fragmented, D-27).
	MaxFrameSize = 32 << 10
	// MaxMessageSize is the largest message after reassembly, and the largest
	// @connections POST body.
	MaxMessageSize = 128 << 10
)

// Defaults of Options.
const (
	DefaultIdleTimeout           = 10 * time.Minute
	DefaultMaxConnectionDuration = 2 * time.Hour
	DefaultHandshakeTimeout      = 10 * time.Second
	DefaultWriteTimeout          = 10 * time.Second
	DefaultCloseTimeout          = 2 * time.Second
	DefaultSendQueueMessages     = 1024
	DefaultSendQueueBytes        = 4 << 20
	DefaultMaxInflight           = 16
	DefaultMaxConnections        = 100000
	DefaultMaxConnectionsPerIP   = 10000
	DefaultNewConnectionsPerIP   = 500
	DefaultMaxHeaderBytes        = 16 << 10
	DefaultMaxURLLength          = 4096
)

// Options configure a Server. Zero values mean the stated defaults.
type Options struct {
	// Logger receives the gateway's structured logs; default: discarded.
	Logger *slog.Logger
	// IdleTimeout closes a connection with no data traffic in either
	// direction for this long (RT-15); default 10 minutes.
	IdleTimeout time.Duration
	// MaxConnectionDuration closes a connection this long after it was
	// accepted (RT-15); default 2 hours.
	MaxConnectionDuration time.Duration
	// HandshakeTimeout bounds reading the handshake request and writing its
	// response (RT-15); default 10 seconds.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each write to a client; a client that does not
	// read for this long is disconnected as a slow consumer (RT-26); default
	// 10 seconds.
	WriteTimeout time.Duration
	// CloseTimeout is how long the gateway waits for a client's reply to its
	// close frame before dropping the TCP connection; default 2 seconds.
	CloseTimeout time.Duration
	// SendQueueMessages and SendQueueBytes bound the messages waiting to be
	// written to one client; a client whose queue overflows is disconnected
	// with 1008 "Slow consumer" (RT-26). Defaults: 1024 messages, 4 MiB.
	SendQueueMessages int
	SendQueueBytes    int
	// MaxInflight is how many integration calls one connection may have
	// running at once; further messages wait, which stops reading from that
	// client only (RT-44). Default 16.
	MaxInflight int
	// Node is this gateway's number in a cluster, encoded in every id it
	// makes (see NewID); default 0.
	Node uint16
	// Transport carries integration calls; default: a shared keep-alive
	// transport (see integration.Options).
	Transport http.RoundTripper
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// AccessLogStdout and AccessLogStderr receive the access logs of stages
	// whose access_log destination is "stdout" or "stderr" (RT-32); default:
	// discarded. (The runtime never prints: the command line passes its own
	// streams.)
	AccessLogStdout io.Writer
	AccessLogStderr io.Writer
	// Dir is the directory relative paths in the state (domain certificates,
	// access log files) are resolved against: the configuration directory
	// they were written in. Default: the working directory.
	Dir string
	// Region and Account make the method ARN authorizers are asked about
	// (D-45); defaults "local" and "000000000000".
	Region  string
	Account string
	// MaxConnections bounds the open connections of the gateway, and
	// MaxConnectionsPerIP those of one source address; a handshake beyond
	// either is refused with 503 before $connect runs. Defaults: 100000 and
	// 10000 (many clients may share one address behind NAT).
	MaxConnections      int
	MaxConnectionsPerIP int
	// NewConnectionsPerIP bounds the handshakes one source address may start
	// per second (a token bucket with that rate and burst); more get 429
	// before $connect runs. Default 500, API Gateway's default rate of new
	// connections for a whole account.
	NewConnectionsPerIP int
	// ReplyBudget bounds the memory all integration calls in progress may
	// hold for backend replies together; default
	// integration.DefaultReplyBudget (256 MiB).
	ReplyBudget int64
	// MaxHeaderBytes bounds a request's head (request line and headers);
	// default 16 KiB. MaxURLLength bounds its target; default 4096.
	MaxHeaderBytes int
	MaxURLLength   int
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	setDefault(&o.MaxConnectionDuration, DefaultMaxConnectionDuration)
	setDefault(&o.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.CloseTimeout, DefaultCloseTimeout)
	setDefault(&o.SendQueueMessages, DefaultSendQueueMessages)
	setDefault(&o.SendQueueBytes, DefaultSendQueueBytes)
	setDefault(&o.MaxInflight, DefaultMaxInflight)
	setDefault(&o.Region, "local")
	setDefault(&o.Account, "000000000000")
	setDefault(&o.MaxConnections, DefaultMaxConnections)
	setDefault(&o.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	setDefault(&o.NewConnectionsPerIP, DefaultNewConnectionsPerIP)
	setDefault(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&o.MaxURLLength, DefaultMaxURLLength)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Log attribute keys.
const (
	logKeyAPI          = "api"
	logKeyStage        = "stage"
	logKeyConnectionID = "connection_id"
	logKeyRequestID    = "request_id"
	logKeyRoute        = "route"
	logKeyCode         = "code"
	logKeyReason       = "reason"
	logKeySerial       = "serial"
	logKeyError        = "error"
	logKeyStatus       = "status"
)

// Server is the gateway: it serves every stage of the loaded state on the
// listeners given to Serve, and the @connections API on the same listeners.
type Server struct {
	opts    Options
	log     *slog.Logger
	invoker *integration.Invoker
	conns   *registry
	table   atomic.Pointer[table]
	// loadMu serialises Load.
	loadMu sync.Mutex

	throttles  throttle.Set
	quotas     apikey.Counters
	sources    *sourceLimits
	metrics    *observe.Metrics
	accessLogs *observe.AccessLogs

	httpSrv *http.Server

	// ctx is cancelled when Shutdown gives up waiting: integration calls
	// still running then are abandoned.
	ctx    context.Context
	cancel context.CancelFunc

	// wg counts every goroutine the server owns: connections, integration
	// calls, $disconnect calls and the sweeper.
	wg sync.WaitGroup

	mu        sync.Mutex
	serving   int  // listeners currently being served
	closing   bool // Shutdown has begun
	stopSweep chan struct{}
	loadedAt  time.Time
}

// NewServer returns a server with no stages; Load gives it state to serve.
func NewServer(opts Options) *Server {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		invoker:    integration.NewInvoker(integration.Options{Transport: opts.Transport, ReplyBudget: opts.ReplyBudget}),
		conns:      newRegistry(),
		metrics:    observe.NewMetrics(),
		accessLogs: observe.NewAccessLogs(opts.AccessLogStdout, opts.AccessLogStderr, opts.Logger),
		ctx:        ctx,
		cancel:     cancel,
		stopSweep:  make(chan struct{}),
		sources:    newSourceLimits(opts.MaxConnections, opts.MaxConnectionsPerIP, opts.NewConnectionsPerIP),
	}
	s.httpSrv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: opts.HandshakeTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		IdleTimeout:       opts.IdleTimeout,
		ConnContext:       withCaptureConn,
		// Requests in progress ($connect and authorizer calls, @connections)
		// end when Shutdown gives up (s.cancel): net/http never cancels them.
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ErrorLog:    slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	s.wg.Add(1)
	go s.sweep()
	return s
}

// Load compiles st and makes it the served state (RT-30). Live connections
// stay open: their next message is handled by their stage's new deployment.
// Connections of stages that st no longer has are closed with 1001 "Going
// away". When st cannot be compiled, Load returns the error and the state
// served before stays in place.
func (s *Server) Load(st *state.State) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	t, err := s.compile(st)
	if err != nil {
		// Let go of what the failed compile opened (access log files,
		// metric series) and keep what the served table uses.
		if old := s.table.Load(); old != nil {
			s.retain(old)
		} else {
			s.retain(&table{})
		}
		return fmt.Errorf("load state: %w", err)
	}
	s.mu.Lock()
	s.loadedAt = s.opts.Now()
	s.mu.Unlock()
	s.table.Store(t)
	s.retain(t)
	s.throttles.Sweep()
	s.quotas.Sweep()
	s.conns.each(func(c *conn) {
		if t.stages[c.key] == nil {
			c.closeWith(closeGoingAway)
		}
	})
	s.log.Info("state loaded", logKeySerial, t.serial, "stages", len(t.order))
	return nil
}

// retain keeps the metric series and access logs t uses and lets the others
// go.
func (s *Server) retain(t *table) {
	ms, ls := t.handles()
	s.metrics.Retain(ms...)
	if err := s.accessLogs.Retain(ls...); err != nil {
		s.log.Error("close access log", logKeyError, err)
	}
}

// Serial returns the serial of the served state, and false before Load.
func (s *Server) Serial() (uint64, bool) {
	t := s.table.Load()
	if t == nil {
		return 0, false
	}
	return t.serial, true
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the listener's error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.serving++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.serving--
		s.mu.Unlock()
	}()
	err := s.httpSrv.Serve(captureListener{ln})
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Ready reports whether the server has loaded a state and is serving a
// listener (D-32's /readyz).
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.table.Load() != nil && s.serving > 0 && !s.closing
}

// Shutdown stops the gateway (RT-31): it refuses new handshakes, closes
// every connection with 1001 "Going away", stops accepting, waits for
// handshakes and @connections calls in progress (a connection that a
// handshake in progress accepts is closed the same way), and waits for every
// $disconnect call. When ctx
// ends first, the remaining connections are dropped, integration calls are
// cancelled, and Shutdown returns ctx's error once every goroutine has
// ended.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closing = true
	close(s.stopSweep)
	s.mu.Unlock()

	// Open connections get their close frame first: waiting for a slow
	// $connect in httpSrv.Shutdown must not hold them open until the grace
	// period ends. A handshake that completes later sees closing and closes
	// its connection itself; new handshakes are refused.
	s.conns.each(func(c *conn) { c.closeWith(closeGoingAway) })
	err := s.httpSrv.Shutdown(ctx)

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		s.conns.each(func(c *conn) { c.abort() })
		<-done
	}
	s.cancel()
	s.invoker.CloseIdleConnections()
	if cerr := s.accessLogs.Close(); cerr != nil {
		s.log.Error("close access logs", logKeyError, cerr)
	}
	return err
}

// MetricsHandler serves the gateway's Prometheus metrics (RT-3, D-32).
func (s *Server) MetricsHandler() http.Handler { return s.metrics.Handler() }

// isClosing reports whether Shutdown has begun.
func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// sweep closes connections that have been idle or open for too long
// (RT-15). One goroutine checks every connection a few times per timeout,
// which costs less than a timer per connection that every message resets.
func (s *Server) sweep() {
	defer s.wg.Done()
	every := min(s.opts.IdleTimeout, s.opts.MaxConnectionDuration) / 4
	every = max(min(every, time.Second), 5*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-tick.C:
		}
		now := s.opts.Now()
		s.sources.sweep(now)
		s.conns.each(func(c *conn) {
			switch {
			case now.Sub(c.lastActiveAt()) >= s.opts.IdleTimeout:
				c.closeWith(closeGoingAway)
			case now.Sub(c.connectedAt) >= s.opts.MaxConnectionDuration:
				c.closeWith(closeGoingAway)
			}
		})
	}
}
