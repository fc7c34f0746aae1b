package reliability

import (
	"log/slog"
	"time"
)

// Defaults of Config.
const (
	DefaultDuration     = 10 * time.Second
	DefaultClients      = 20
	DefaultAttackers    = 2
	DefaultThinkTime    = 10 * time.Millisecond
	DefaultAttackPause  = 10 * time.Millisecond
	DefaultReplyTimeout = 10 * time.Second
)

// Gateway settings the suite runs with. They are shorter than the runtime's
// defaults so that every timeout-based defence fires several times within
// one phase; each is a runtime.Options field of the same name.
const (
	// HandshakeTimeout cuts off a byte-by-byte handshake that never ends.
	HandshakeTimeout = time.Second
	// WriteTimeout disconnects a client that stops reading.
	WriteTimeout = time.Second
	// CloseTimeout bounds the wait for a client's reply to a close frame.
	CloseTimeout = 500 * time.Millisecond
)

// Faulty backends' settings.
const (
	// faultTimeoutMS is the timeout_ms of the routes to faulty backends.
	faultTimeoutMS = 1000
	// slowTimeoutMS is the timeout_ms of the slow backend's route, which
	// answers after slowDelay.
	slowTimeoutMS = 200
	slowDelay     = 2 * time.Second
	// hugeBodyBytes is how much the garbage backend streams, slowly.
	hugeBodyBytes = 50 << 20
	// hugeContentLength is the Content-Length the lying backend declares.
	hugeContentLength = 50 << 30
	// bigReplyBytes is the size of the MOCK route's reply, which stalled
	// readers ask for; the route's throttle (bigRate, bigBurst) lets every
	// request through.
	bigReplyBytes = 30 << 10
	bigRate       = 100000
	bigBurst      = 100000
	// floodRate and floodBurst throttle the flood route (RT-25).
	floodRate  = 500
	floodBurst = 100
	// floodBurstMessages is how many messages a flooder sends at once, and
	// floodEvery how often it starts a burst.
	floodBurstMessages = 100
	floodEvery         = 20 * time.Millisecond
)

// Config sizes a run. Zero values mean the stated defaults.
type Config struct {
	// Duration is the length of each of the two phases; default 10 s.
	Duration time.Duration
	// Clients is the number of well-behaved clients; default 20.
	Clients int
	// Attackers is the number of concurrent attackers of each fault kind;
	// default 2.
	Attackers int
	// ThinkTime is how long a well-behaved client waits after a reply before
	// sending its next message; default 10 ms. Each client has one message
	// outstanding at a time (a closed loop).
	ThinkTime time.Duration
	// AttackPause is how long an attacker waits between two attempts;
	// default 10 ms. Floods and stalled readers do not pause within an
	// attempt.
	AttackPause time.Duration
	// ReplyTimeout is how long a well-behaved client waits for a reply
	// before counting its message lost; default 10 s.
	ReplyTimeout time.Duration
	// Faults lists the fault kinds to run in the abuse phase (Fault.Kind
	// values); default: every kind.
	Faults []string
	// InProcess runs the attackers and the faulty backends in this process
	// instead of a child process (see Run); they then compete with the
	// gateway and the well-behaved clients for the CPU. Default false.
	InProcess bool
	// Logger receives the gateway's logs; default: discarded.
	Logger *slog.Logger `json:"-"`
}

func (c Config) withDefaults() Config {
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Clients <= 0 {
		c.Clients = DefaultClients
	}
	if c.Attackers <= 0 {
		c.Attackers = DefaultAttackers
	}
	if c.ThinkTime <= 0 {
		c.ThinkTime = DefaultThinkTime
	}
	if c.AttackPause <= 0 {
		c.AttackPause = DefaultAttackPause
	}
	if c.ReplyTimeout <= 0 {
		c.ReplyTimeout = DefaultReplyTimeout
	}
	return c
}
