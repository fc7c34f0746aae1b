package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Mode says how a run paces the messages it sends.
type Mode int

const (
	// Closed keeps Config.InFlight messages outstanding on every
	// connection: a new message is sent as soon as a reply arrives.
	Closed Mode = iota
	// Open sends Config.Rate messages per second in total at fixed
	// intervals, whatever the replies do. Latency is measured from each
	// message's scheduled send time.
	Open
	// Idle opens the connections and holds them without sending messages:
	// for push load (Config.Push) and idle soaks.
	Idle
)

// String returns the mode's name as the command line spells it.
func (m Mode) String() string {
	switch m {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case Idle:
		return "idle"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode returns the Mode named s ("closed", "open" or "idle").
func ParseMode(s string) (Mode, error) {
	switch s {
	case "closed":
		return Closed, nil
	case "open":
		return Open, nil
	case "idle":
		return Idle, nil
	}
	return 0, fmt.Errorf("unknown mode %q: expected closed, open or idle", s)
}

// Defaults of Config and PushConfig.
const (
	// DefaultTemplate is the message sent when Config.Template is empty.
	DefaultTemplate = `{"action":"echo","id":"{{id}}"}`
	// DefaultDuration is the measured phase when Config.Duration is 0.
	DefaultDuration = 10 * time.Second
	// DefaultWarmup is the warm-up when Config.Warmup is 0. A negative
	// Warmup means none.
	DefaultWarmup = time.Second
	// DefaultTimeout is how long a reply is awaited when Config.Timeout is
	// 0.
	DefaultTimeout = 5 * time.Second
	// DefaultDialTimeout bounds one connection's TCP, TLS and WebSocket
	// handshakes when Config.DialTimeout is 0.
	DefaultDialTimeout = 10 * time.Second
	// DefaultPushBody is the POST body when PushConfig.Body is empty.
	DefaultPushBody = `{"push":"{{id}}","ts":{{ts}}}`
	// DefaultWhoAmI is the message sent to learn a connection's id when
	// PushConfig.IDFrom is set and PushConfig.WhoAmI is empty.
	DefaultWhoAmI = `{"action":"whoami"}`
	// DefaultPushConcurrency is the number of POSTs in progress at once
	// when PushConfig.Concurrency is 0.
	DefaultPushConcurrency = 64
	// LateThreshold is how far behind its scheduled time an open-loop
	// message or push may be sent before it counts as late.
	LateThreshold = time.Millisecond
	// CloseTimeout bounds the wait for the server's answers to the close
	// frames sent at the end of a run.
	CloseTimeout = 2 * time.Second
	// MaxMessageSize is the largest message the generator reads; a bigger
	// one ends its connection with 1009 and counts as a "read" error.
	MaxMessageSize = 16 << 20
)

// Config describes one run of the generator. The zero value of every field
// but URL is usable and means its documented default.
type Config struct {
	// URL is the ws:// or wss:// URL every connection opens.
	URL string
	// Header holds extra handshake headers. A Host header replaces the
	// URL's host in the handshake.
	Header http.Header
	// Connections is the number of connections to open (default 1).
	Connections int
	// Mode is Closed (default), Open or Idle.
	Mode Mode
	// InFlight is, in closed loop, the number of messages outstanding per
	// connection (default 1).
	InFlight int
	// Rate is, in open loop, the total number of messages per second across
	// all connections (required). Message j of the run is scheduled at
	// j/Rate seconds after the load starts, on connection j mod N.
	Rate float64
	// Template is the message text. Placeholders: {{conn}} (the
	// connection's index), {{seq}} (the message's sequence number on its
	// connection), {{id}} (a token unique in the run that the reply is
	// matched by) and {{ts}} (the send time in Unix nanoseconds). Default
	// DefaultTemplate.
	Template string
	// OneWay means no replies are expected: throughput counts messages
	// sent, latency is not measured, and frames received are only counted.
	OneWay bool
	// Duration is the measured phase (default 10s).
	Duration time.Duration
	// Warmup is the phase before it, whose messages are sent but not
	// measured (default 1s; negative for none).
	Warmup time.Duration
	// ConnectRate is the number of handshakes started per second while
	// opening connections (0 = as fast as possible).
	ConnectRate float64
	// Push adds @connections push load when set.
	Push *PushConfig
	// InsecureSkipVerify skips the verification of wss:// certificates.
	InsecureSkipVerify bool
	// TLSConfig, when set, is the TLS configuration of wss:// connections
	// (InsecureSkipVerify is then ignored).
	TLSConfig *tls.Config
	// Timeout is how long a reply (or a pushed frame) is awaited before it
	// counts as a "timeout" error; it also bounds the wait for outstanding
	// replies at the end (default 5s).
	Timeout time.Duration
	// DialTimeout bounds each connection's handshakes (default 10s).
	DialTimeout time.Duration
	// Progress is called about once per second while the run lasts, from
	// a goroutine of its own (nil = none).
	Progress func(Snapshot)
}

// PushConfig describes @connections push load: HTTP POSTs to
// Endpoint/@connections/{connectionId} at a fixed rate, each carrying a
// token that the frame the connection receives is matched by.
type PushConfig struct {
	// Endpoint is the @connections base URL, for example
	// http://127.0.0.1:8080/chat/dev.
	Endpoint string
	// Rate is the number of POSTs per second (open loop), spread
	// round-robin over the connections (required).
	Rate float64
	// ConnectionIDs, when set, is called once the connections are open and
	// returns the connection ids to push to.
	ConnectionIDs func() []string
	// IDFrom is, when ConnectionIDs is nil, the JSON field (dots separate
	// nested names) of the first reply to WhoAmI whose string value is the
	// connection's id. The gateway's error frames carry "connectionId", so
	// IDFrom "connectionId" works even on an API without a route for
	// WhoAmI, as long as it has no $default route.
	IDFrom string
	// WhoAmI is the message each connection sends after its handshake when
	// IDFrom is set (default DefaultWhoAmI).
	WhoAmI string
	// Body is the POST body template with the placeholders {{seq}}, {{id}}
	// (required: the frame is matched by it) and {{ts}} (default
	// DefaultPushBody). Latency is measured from the POST's scheduled time
	// to the frame's arrival.
	Body string
	// Header holds extra request headers of every POST.
	Header http.Header
	// Concurrency is the number of POSTs in progress at once (default 64).
	Concurrency int
}

// settings is a Config with its defaults filled in and its templates parsed.
type settings struct {
	Config
	target   *url.URL
	tmpl     *template
	pushTmpl *template
	pushURL  string
}

// validate checks cfg and returns it with its defaults filled in.
func validate(cfg Config) (*settings, error) {
	s := &settings{Config: cfg}
	if s.URL == "" {
		return nil, errors.New("the URL is missing")
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("URL %q: the scheme must be ws or wss", s.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q: the host is missing", s.URL)
	}
	s.target = u
	if s.Connections == 0 {
		s.Connections = 1
	}
	if s.InFlight == 0 {
		s.InFlight = 1
	}
	if s.Duration == 0 {
		s.Duration = DefaultDuration
	}
	switch {
	case s.Warmup == 0:
		s.Warmup = DefaultWarmup
	case s.Warmup < 0:
		s.Warmup = 0
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.DialTimeout == 0 {
		s.DialTimeout = DefaultDialTimeout
	}
	if s.Template == "" {
		s.Template = DefaultTemplate
	}
	switch {
	case s.Connections < 0:
		return nil, fmt.Errorf("connections must be positive, not %d", s.Connections)
	case s.InFlight < 0:
		return nil, fmt.Errorf("messages in flight must be positive, not %d", s.InFlight)
	case s.Duration < 0:
		return nil, fmt.Errorf("duration must be positive, not %s", s.Duration)
	case s.Timeout < 0 || s.DialTimeout < 0:
		return nil, errors.New("timeouts must be positive")
	case s.ConnectRate < 0:
		return nil, fmt.Errorf("connect rate must not be negative, not %g", s.ConnectRate)
	case s.Mode != Closed && s.Mode != Open && s.Mode != Idle:
		return nil, fmt.Errorf("unknown mode %d", int(s.Mode))
	case s.Mode == Open && !(s.Rate > 0):
		return nil, errors.New("open loop needs a positive rate of messages per second")
	}
	if s.tmpl, err = parseTemplate(s.Template, true); err != nil {
		return nil, fmt.Errorf("parse message template: %w", err)
	}
	if s.Push != nil {
		p := *s.Push
		if p.Body == "" {
			p.Body = DefaultPushBody
		}
		if p.WhoAmI == "" {
			p.WhoAmI = DefaultWhoAmI
		}
		if p.Concurrency == 0 {
			p.Concurrency = DefaultPushConcurrency
		}
		switch {
		case p.Endpoint == "":
			return nil, errors.New("push load needs the @connections endpoint")
		case !(p.Rate > 0):
			return nil, errors.New("push load needs a positive rate of POSTs per second")
		case p.ConnectionIDs == nil && p.IDFrom == "":
			return nil, errors.New("push load needs a way to learn connection ids: ConnectionIDs or IDFrom")
		case p.Concurrency < 0:
			return nil, fmt.Errorf("push concurrency must be positive, not %d", p.Concurrency)
		}
		eu, err := url.Parse(p.Endpoint)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return nil, fmt.Errorf("push endpoint %q: expected an http:// or https:// URL", p.Endpoint)
		}
		if s.pushTmpl, err = parseTemplate(p.Body, false); err != nil {
			return nil, fmt.Errorf("parse push body template: %w", err)
		}
		if !s.pushTmpl.hasID {
			return nil, errors.New("the push body template must contain {{id}}: pushed frames are matched by it")
		}
		s.pushURL = strings.TrimSuffix(p.Endpoint, "/") + "/@connections/"
		s.Push = &p
	}
	return s, nil
}
