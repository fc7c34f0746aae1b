package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// run runs cfg against the test server with the test's bound.
func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Interrupted {
		t.Fatalf("the run did not finish within %s", testTimeout)
	}
	return res
}

func TestClosedLoop(t *testing.T) {
	srv := startServer(t, echo, nil)
	res := run(t, Config{URL: srv.url, Connections: 3, InFlight: 4, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if res.Sent == 0 {
		t.Fatal("no message was sent")
	}
	if res.Received != res.Sent {
		t.Errorf("received %d replies to %d messages, want all", res.Received, res.Sent)
	}
	if res.Latency.Count != res.Received || res.Latency.Max <= 0 || res.Latency.P50 > res.Latency.P99 {
		t.Errorf("latency %+v does not summarise %d replies", res.Latency, res.Received)
	}
	if res.Fallbacks != 0 {
		t.Errorf("%d replies matched in order, want all by their token", res.Fallbacks)
	}
	if len(res.Errors) != 0 {
		t.Errorf("errors %v, want none", res.Errors)
	}
	if res.Connections.Opened != 3 || res.Connections.HandshakeStatus[101] != 3 || res.Connections.CloseAnswered != 3 {
		t.Errorf("connections %+v, want 3 opened, handshaken and closed cleanly", res.Connections)
	}
	if want := float64(res.Received) / 0.3; res.Throughput < want*0.99 || res.Throughput > want*1.01 {
		t.Errorf("throughput %.1f, want received/duration = %.1f", res.Throughput, want)
	}
	if h := res.Histogram(); h.TotalCount() != res.Latency.Count {
		t.Errorf("histogram holds %d values, want %d", h.TotalCount(), res.Latency.Count)
	}
}

// TestOpenLoopSendsTheSchedule checks that an open-loop run sends exactly
// the messages its schedule places in the measured phase, rate × duration,
// however late the machine runs them.
func TestOpenLoopSendsTheSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		conns    int
		rate     float64
		duration time.Duration
		warmup   time.Duration
		oneWay   bool
		want     int64
	}{
		{name: "one connection", conns: 1, rate: 200, duration: 500 * time.Millisecond, warmup: 100 * time.Millisecond, want: 100},
		{name: "spread over connections", conns: 4, rate: 400, duration: 500 * time.Millisecond, warmup: 100 * time.Millisecond, want: 200},
		{name: "no warm-up", conns: 3, rate: 300, duration: 500 * time.Millisecond, warmup: -1, want: 150},
		{name: "one-way", conns: 2, rate: 400, duration: 250 * time.Millisecond, warmup: 50 * time.Millisecond, oneWay: true, want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, echo, nil)
			res := run(t, Config{URL: srv.url, Mode: Open, Connections: tt.conns, Rate: tt.rate,
				Duration: tt.duration, Warmup: tt.warmup, OneWay: tt.oneWay})
			if res.Sent != tt.want {
				t.Errorf("sent %d messages, want rate × duration = %d", res.Sent, tt.want)
			}
			if tt.oneWay {
				if res.Latency.Count != 0 {
					t.Errorf("one-way run recorded %d latencies, want none", res.Latency.Count)
				}
				if res.Throughput != float64(tt.want)/tt.duration.Seconds() {
					t.Errorf("one-way throughput %.1f, want sent/duration", res.Throughput)
				}
				return
			}
			if res.Received != tt.want || res.Latency.Count != tt.want {
				t.Errorf("received %d replies with %d latencies, want %d", res.Received, res.Latency.Count, tt.want)
			}
			if len(res.Errors) != 0 {
				t.Errorf("errors %v, want none", res.Errors)
			}
		})
	}
}

// TestOpenLoopCountsLateSends checks that a writer that falls behind its
// schedule sends every scheduled message, late, counts them, and measures
// their latency from the scheduled time: the server stops reading for a
// while, so that the large messages fill the socket buffers and block the
// writer.
func TestOpenLoopCountsLateSends(t *testing.T) {
	const pause = 300 * time.Millisecond
	filler := strings.Repeat("x", 1<<20)
	srv := startServer(t, func(c *serverConn) {
		time.Sleep(pause) // the server's stall under test, not synchronisation
		echo(c)
	}, nil)
	res := run(t, Config{URL: srv.url, Mode: Open, Rate: 100, Duration: 200 * time.Millisecond, Warmup: -1,
		Template: `{"id":"{{id}}","fill":"` + filler + `"}`})
	if res.Sent != 20 || res.Received != 20 {
		t.Errorf("sent %d and received %d, want the 20 scheduled", res.Sent, res.Received)
	}
	if res.Late == 0 {
		t.Error("no message was counted late")
	}
	if res.Latency.Max < pause/2 {
		t.Errorf("max latency %s, want it to include the server's pause of %s", res.Latency.Max, pause)
	}
}

// TestRepliesMatchedByToken uses a server that answers each burst of
// messages (those read before its input runs dry) in reverse order: every
// reply must still find its message.
func TestRepliesMatchedByToken(t *testing.T) {
	const inFlight = 8
	var reversed atomic.Int64 // bursts answered out of order
	reverse := func(c *serverConn) {
		var held [][]byte
		for {
			p, ok := c.next()
			if !ok {
				return
			}
			held = append(held, bytes.Clone(p))
			if c.br.Buffered() > 0 {
				continue
			}
			if len(held) > 1 {
				reversed.Add(1)
			}
			for i := len(held) - 1; i >= 0; i-- {
				if c.send(held[i], i == 0) != nil {
					return
				}
			}
			held = held[:0]
		}
	}
	srv := startServer(t, reverse, nil)
	res := run(t, Config{URL: srv.url, Connections: 2, InFlight: inFlight, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if reversed.Load() == 0 {
		t.Fatal("the server never answered out of order: the test proves nothing")
	}
	if res.Sent == 0 || res.Received != res.Sent {
		t.Errorf("received %d replies to %d messages, want all", res.Received, res.Sent)
	}
	if res.Fallbacks != 0 || len(res.Errors) != 0 {
		t.Errorf("%d fallbacks, errors %v: want every reply matched by its token", res.Fallbacks, res.Errors)
	}
}

// TestRepliesWithoutTokenMatchInOrder checks the FIFO fallback: replies
// that carry no token complete the oldest message.
func TestRepliesWithoutTokenMatchInOrder(t *testing.T) {
	srv := startServer(t, func(c *serverConn) {
		for {
			if _, ok := c.next(); !ok {
				return
			}
			if c.send([]byte(`{"ok":true}`), true) != nil {
				return
			}
		}
	}, nil)
	res := run(t, Config{URL: srv.url, InFlight: 3, Duration: 200 * time.Millisecond, Warmup: -1})
	if res.Sent == 0 || res.Received != res.Sent || res.Fallbacks < res.Received {
		t.Errorf("sent %d, received %d, fallbacks %d: want every reply matched in order", res.Sent, res.Received, res.Fallbacks)
	}
}

func TestErrorsByKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handle  func(c *serverConn)
		cfg     Config
		check   func(t *testing.T, res *Result)
		timeout time.Duration
	}{
		{
			name: "error frames",
			handle: func(c *serverConn) {
				for n := 0; ; n++ {
					p, ok := c.next()
					if !ok {
						return
					}
					if n%2 == 1 {
						p = []byte(`{"message": "Forbidden", "connectionId":"Yx1Q8cmyIAMCJmA=", "requestId":"Yx1Q8FJ0IAMFvqw="}`)
					}
					if c.send(p, true) != nil {
						return
					}
				}
			},
			check: func(t *testing.T, res *Result) {
				frames := res.Errors["error-frame"]
				if frames == 0 || res.ErrorFrames["Forbidden"] != frames {
					t.Errorf("errors %v, error frames %v: want the Forbidden frames counted", res.Errors, res.ErrorFrames)
				}
				if res.Received == 0 || res.Latency.Count != res.Received {
					t.Errorf("received %d with %d latencies: want the good replies measured", res.Received, res.Latency.Count)
				}
			},
		},
		{
			name: "close codes",
			handle: func(c *serverConn) {
				if _, ok := c.next(); !ok {
					return
				}
				c.closeWith(ws.StatusPolicyViolation)
				for {
					if _, ok := c.next(); !ok {
						return
					}
				}
			},
			cfg: Config{Connections: 3},
			check: func(t *testing.T, res *Result) {
				if res.CloseCodes[1008] != 3 || len(res.CloseCodes) != 1 {
					t.Errorf("close codes %v, want 1008 ×3", res.CloseCodes)
				}
				if res.Errors["unanswered"] != 3 {
					t.Errorf("errors %v, want the 3 messages left unanswered", res.Errors)
				}
			},
		},
		{
			name: "timeouts",
			handle: func(c *serverConn) {
				for {
					if _, ok := c.next(); !ok {
						return
					}
				}
			},
			cfg: Config{Timeout: 50 * time.Millisecond},
			check: func(t *testing.T, res *Result) {
				if res.Errors["timeout"] < 2 || res.Received != 0 {
					t.Errorf("errors %v, received %d: want timeouts and no replies", res.Errors, res.Received)
				}
			},
		},
		{
			name: "lost connection",
			handle: func(c *serverConn) {
				c.next()
			},
			check: func(t *testing.T, res *Result) {
				if res.Errors["read"] != 1 || res.Errors["unanswered"] != 1 || len(res.CloseCodes) != 0 {
					t.Errorf("errors %v, close codes %v: want one read error, one unanswered", res.Errors, res.CloseCodes)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, tt.handle, nil)
			cfg := tt.cfg
			cfg.URL = srv.url
			cfg.Duration = 200 * time.Millisecond
			cfg.Warmup = -1
			tt.check(t, run(t, cfg))
		})
	}
}

func TestNoConnection(t *testing.T) {
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer rejecting.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name       string
		url        string
		wantStatus map[int]int
	}{
		{name: "rejected handshake", url: "ws" + strings.TrimPrefix(rejecting.URL, "http") + "/dev", wantStatus: map[int]int{403: 2}},
		{name: "refused", url: "ws://" + closedAddr + "/dev", wantStatus: map[int]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Config{URL: tt.url, Connections: 2, Duration: time.Second})
			if err == nil || !strings.Contains(err.Error(), "no connection could be opened") {
				t.Fatalf("Run error %v, want no connection could be opened", err)
			}
			if res == nil || res.Connections.Failed != 2 || res.Errors["dial"] != 2 {
				t.Fatalf("result %+v, want 2 failed dials", res)
			}
			if fmt.Sprint(res.Connections.HandshakeStatus) != fmt.Sprint(tt.wantStatus) {
				t.Errorf("handshake statuses %v, want %v", res.Connections.HandshakeStatus, tt.wantStatus)
			}
		})
	}
}

// fakeGateway serves whoami and an @connections endpoint that forwards
// each POST body to the connection it names.
type fakeGateway struct {
	mu    sync.Mutex
	conns map[string]*serverConn
	n     int
}

func (g *fakeGateway) handle(c *serverConn) {
	g.mu.Lock()
	g.n++
	id := fmt.Sprintf("conn%d=", g.n)
	g.conns[id] = c
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.conns, id)
		g.mu.Unlock()
	}()
	for {
		p, ok := c.next()
		if !ok {
			return
		}
		if string(p) == DefaultWhoAmI {
			p = []byte(`{"me":{"connectionId":"` + id + `"}}`)
		}
		if c.send(p, true) != nil {
			return
		}
	}
}

func (g *fakeGateway) post(w http.ResponseWriter, r *http.Request) {
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(r.Body)
	g.mu.Lock()
	c := g.conns[r.PathValue("id")]
	g.mu.Unlock()
	if c == nil {
		w.WriteHeader(http.StatusGone)
		return
	}
	if c.send(body.Bytes(), true) != nil {
		w.WriteHeader(http.StatusGone)
	}
}

func TestPushLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode Mode
		push PushConfig
	}{
		{name: "ids from whoami, idle connections", mode: Idle, push: PushConfig{IDFrom: "me.connectionId"}},
		{name: "ids given, with message load", mode: Open, push: PushConfig{
			ConnectionIDs: func() []string { return []string{"conn1=", "conn2=", "nobody="} },
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &fakeGateway{conns: map[string]*serverConn{}}
			mux := http.NewServeMux()
			mux.HandleFunc("POST /dev/@connections/{id}", g.post)
			srv := startServer(t, g.handle, mux)
			push := tt.push
			push.Endpoint = srv.srv.URL + "/dev"
			push.Rate = 300
			res := run(t, Config{URL: srv.url, Connections: 2, Mode: tt.mode, Rate: 100, Push: &push,
				Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond})
			p := res.Push
			if p == nil {
				t.Fatal("no push result")
			}
			want, failed := int64(90), 0
			if tt.push.ConnectionIDs != nil {
				// Every third POST goes to an unknown id.
				want, failed = 60, 40
			}
			if p.Posted != want || p.Delivered != want || p.Latency.Count != want {
				t.Errorf("push %+v: want %d posted, delivered and measured", p, want)
			}
			if p.Failed[http.StatusGone] != failed {
				t.Errorf("push failures %v, want %d ×410", p.Failed, failed)
			}
			if len(res.Errors) != 0 {
				t.Errorf("errors %v, want none", res.Errors)
			}
			if tt.mode == Open && (res.Sent != 30 || res.Received != 30) {
				t.Errorf("sent %d, received %d: want the 30 messages answered beside the pushes", res.Sent, res.Received)
			}
		})
	}
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startServer(t, func(c *serverConn) {
		// The run is interrupted once the first message has arrived.
		if _, ok := c.next(); ok {
			cancel()
		}
		echo(c)
	}, nil)
	res, err := Run(ctx, Config{URL: srv.url, Duration: time.Minute, Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Duration >= time.Minute || res.Connections.CloseAnswered != 1 {
		t.Errorf("result %+v, want an interrupted run that closed its connection", res)
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no URL", cfg: Config{}, want: "the URL is missing"},
		{name: "http URL", cfg: Config{URL: "http://x/"}, want: "scheme must be ws or wss"},
		{name: "open without rate", cfg: Config{URL: "ws://x/", Mode: Open}, want: "open loop needs a positive rate"},
		{name: "unknown placeholder", cfg: Config{URL: "ws://x/", Template: "{{nope}}"}, want: "unknown placeholder {{nope}}"},
		{name: "unterminated placeholder", cfg: Config{URL: "ws://x/", Template: "{{id"}, want: "unterminated placeholder"},
		{name: "push body without id", cfg: Config{URL: "ws://x/", Push: &PushConfig{Endpoint: "http://x/dev", Rate: 1, IDFrom: "id", Body: "{{seq}}"}}, want: "must contain {{id}}"},
		{name: "push without ids", cfg: Config{URL: "ws://x/", Push: &PushConfig{Endpoint: "http://x/dev", Rate: 1}}, want: "a way to learn connection ids"},
		{name: "push without rate", cfg: Config{URL: "ws://x/", Push: &PushConfig{Endpoint: "http://x/dev", IDFrom: "id"}}, want: "positive rate of POSTs"},
		{name: "negative connections", cfg: Config{URL: "ws://x/", Connections: -1}, want: "connections must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTemplateAndTokens(t *testing.T) {
	tok := &tokenizer{prefix: []byte("lgtest")}
	tmpl, err := parseTemplate(`{"c":{{conn}},"s":{{seq}},"id":"{{id}}","ts":{{ts}}}`, true)
	if err != nil {
		t.Fatal(err)
	}
	got := string(tmpl.render(nil, 7, 42, tok, false, 123))
	if want := `{"c":7,"s":42,"id":"lgtest-7-42","ts":123}`; got != want {
		t.Errorf("render = %s, want %s", got, want)
	}
	tests := []struct {
		in   string
		want []foundToken
	}{
		{in: `{"id":"lgtest-7-42"}`, want: []foundToken{{conn: 7, seq: 42}}},
		{in: `x lgtest-p-9 lgtest-1-2`, want: []foundToken{{push: true, seq: 9}, {conn: 1, seq: 2}}},
		{in: `lgtest- lgtest-1- lgtest-x-1 lgtest-p-`, want: nil},
		{in: `lgtes-1-2`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var found []foundToken
			for rest := []byte(tt.in); ; {
				ft, after, ok := tok.next(rest)
				if !ok {
					break
				}
				found, rest = append(found, ft), after
			}
			if fmt.Sprint(found) != fmt.Sprint(tt.want) {
				t.Errorf("tokens %v, want %v", found, tt.want)
			}
		})
	}
}

func TestPendingQueue(t *testing.T) {
	var q pendingQueue
	for seq := range uint64(40) { // grows past the first ring
		q.add(seq, int64(seq), true)
		if seq >= 3 {
			if _, ok := q.complete(seq - 2); !ok {
				t.Fatalf("complete(%d) failed", seq-2)
			}
		}
	}
	// Outstanding: 0, 38, 39.
	if seq, m, ok := q.oldest(); !ok || seq != 0 || m.sent != 0 {
		t.Fatalf("oldest = %d, %v, want 0", seq, ok)
	}
	if _, ok := q.complete(5); ok {
		t.Error("complete(5) twice succeeded")
	}
	q.complete(0)
	if seq, _, _ := q.oldest(); seq != 38 || q.outstanding != 2 {
		t.Errorf("oldest = %d with %d outstanding, want 38 with 2", seq, q.outstanding)
	}
}

func TestResultRendering(t *testing.T) {
	srv := startServer(t, echo, nil)
	res := run(t, Config{URL: srv.url, Duration: 100 * time.Millisecond, Warmup: -1})
	res.Errors["timeout"] = 2
	res.CloseCodes[1001] = 1
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Target", srv.url, "closed loop, 1 connections × 1 in flight", "Throughput", "p99.9", "timeout: 2", "1001 ×1"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config struct {
			URL        string  `json:"url"`
			DurationMs float64 `json:"durationMs"`
		} `json:"config"`
		DurationMs float64         `json:"durationMs"`
		Sent       int64           `json:"sent"`
		Latency    map[string]any  `json:"latency"`
		CloseCodes map[string]int  `json:"closeCodes"`
		Errors     map[string]int  `json:"errors"`
		Push       json.RawMessage `json:"push"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("JSON %s: %v", data, err)
	}
	if doc.Config.URL != srv.url || doc.DurationMs != 100 || doc.Config.DurationMs != 100 || doc.Sent != res.Sent ||
		doc.CloseCodes["1001"] != 1 || doc.Errors["timeout"] != 2 || doc.Latency["p99Ms"] == nil || doc.Push != nil {
		t.Errorf("JSON %s does not match the result", data)
	}
}
