package examples

// The chat example end to end: the configuration in chat/ is loaded,
// planned and applied, served by the real gateway, and driven by WebSocket
// clients against the example's backend (chat/backend), which answers
// through the gateway's @connections API.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/wsgwctl/wsgwctl/config"
	"github.com/wsgwctl/wsgwctl/examples/chat/backend"
	"github.com/wsgwctl/wsgwctl/plan"
	"github.com/wsgwctl/wsgwctl/runtime"
	"github.com/wsgwctl/wsgwctl/state/statetest"
)

// e2eTimeout bounds every wait of the end-to-end tests; reaching it is a
// failure.
const e2eTimeout = 10 * time.Second

// copyChatExample copies the chat example's configuration files and schemas
// into a new temporary directory and returns it.
func copyChatExample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	configs, err := filepath.Glob(filepath.Join("chat", "*"+config.ConfigFileSuffix))
	if err != nil || len(configs) == 0 {
		t.Fatalf("find the chat configuration: %v (found %d files)", err, len(configs))
	}
	schemas, err := filepath.Glob(filepath.Join("chat", "schemas", "*"))
	if err != nil || len(schemas) == 0 {
		t.Fatalf("find the chat schemas: %v (found %d files)", err, len(schemas))
	}
	if err := os.Mkdir(filepath.Join(dir, "schemas"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, src := range append(configs, schemas...) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel("chat", src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// chatGateway is the chat example running: the gateway serving the applied
// configuration and the example's backend behind it.
type chatGateway struct {
	srv       *runtime.Server
	addr      string
	served    chan error
	backend   *httptest.Server
	transport *http.Transport // the backend's @connections client
	stopOnce  sync.Once
}

// startChat applies the chat example (with backend_url pointing at the
// example's backend) and serves it on 127.0.0.1:0 with opts.
func startChat(t *testing.T, opts runtime.Options) *chatGateway {
	t.Helper()
	// The backend needs the gateway's address and the configuration needs
	// the backend's: the gateway's listener is opened first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &chatGateway{addr: ln.Addr().String(), served: make(chan error, 1)}
	g.transport = &http.Transport{}
	g.backend = httptest.NewServer(backend.New(backend.Options{
		Gateway:    "http://" + g.addr + "/chat/dev",
		HTTPClient: &http.Client{Transport: g.transport},
	}))

	dir := copyChatExample(t)
	loaded, diags := config.Load(dir, config.LoadOptions{Vars: []string{"backend_url=" + g.backend.URL}})
	if diags.HasErrors() {
		_ = ln.Close()
		g.backend.Close()
		t.Fatalf("load the chat example: %s", diags.Error())
	}
	p, problems := plan.Make(loaded.Config, nil, plan.Options{})
	for _, pr := range problems {
		t.Errorf("plan problem: %s: %s", pr.Summary, pr.Detail)
	}
	st := statetest.Apply(t, p.NewState)

	g.srv = runtime.NewServer(opts)
	if err := g.srv.Load(st); err != nil {
		_ = ln.Close()
		g.backend.Close()
		t.Fatalf("load the applied state: %v", err)
	}
	go func() { g.served <- g.srv.Serve(ln) }()
	t.Cleanup(func() { g.stop(t) })
	return g
}

// stop shuts the gateway down gracefully, then the backend. It may be
// called more than once.
func (g *chatGateway) stop(t *testing.T) {
	g.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		if err := g.srv.Shutdown(ctx); err != nil {
			t.Errorf("RT-31: Shutdown: %v", err)
		}
		if err := <-g.served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		g.backend.Close()
		g.transport.CloseIdleConnections()
	})
}

// chatClient is one user's WebSocket connection to the chat stage.
type chatClient struct {
	t    *testing.T
	name string
	conn net.Conn
	rw   io.ReadWriter
}

// readWriter reads from r and writes to w.
type readWriter struct {
	io.Reader
	io.Writer
}

// dialChat connects to the dev stage; query is the handshake's query string.
func (g *chatGateway) dialChat(ctx context.Context, query string) (net.Conn, *bufio.Reader, error) {
	d := ws.Dialer{Timeout: e2eTimeout}
	ctx, cancel := context.WithTimeout(ctx, e2eTimeout)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, "ws://"+g.addr+"/chat/dev"+query)
	return conn, br, err
}

// connect connects user to the chat; the test fails unless the gateway
// accepts the handshake.
func (g *chatGateway) connect(t *testing.T, user string) *chatClient {
	t.Helper()
	conn, br, err := g.dialChat(context.Background(), "?user="+user)
	if err != nil {
		t.Fatalf("RT-10: connect %s: %v", user, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &chatClient{t: t, name: user, conn: conn, rw: readWriter{Reader: conn, Writer: conn}}
	if br != nil {
		c.rw = readWriter{Reader: br, Writer: conn}
	}
	return c
}

// send sends v as one JSON text message.
func (c *chatClient) send(v map[string]any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(e2eTimeout))
	if err := wsutil.WriteClientText(c.conn, data); err != nil {
		c.t.Fatalf("%s: send %s: %v", c.name, data, err)
	}
}

// next returns the next message the client receives, decoded.
func (c *chatClient) next() map[string]any {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(e2eTimeout))
	data, op, err := wsutil.ReadServerData(c.rw)
	if err != nil {
		c.t.Fatalf("%s: waiting for a message: %v", c.name, err)
	}
	if op != ws.OpText {
		c.t.Fatalf("%s: got a message with opcode %v, want text: %q", c.name, op, data)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		c.t.Fatalf("%s: message is not a JSON object: %v: %s", c.name, err, data)
	}
	return v
}

// expect reads the next message and requires it to equal want, except
// that each key in dynamic must be present with a non-empty string value
// of any content. It returns the message.
func (c *chatClient) expect(what string, want map[string]any, dynamic ...string) map[string]any {
	c.t.Helper()
	got := c.next()
	rest := make(map[string]any, len(got))
	for k, v := range got {
		rest[k] = v
	}
	for _, k := range dynamic {
		if s, ok := got[k].(string); !ok || s == "" {
			c.t.Errorf("%s: %s: %q is %v, want a non-empty string", c.name, what, k, got[k])
		}
		delete(rest, k)
	}
	if diff := cmp.Diff(want, rest); diff != "" {
		c.t.Fatalf("%s: %s: the next message differs (-want +got):\n%s\nwhole message: %v", c.name, what, diff, got)
	}
	return got
}

// expectClose reads until the gateway's close frame and checks its code and
// reason.
func (c *chatClient) expectClose(code ws.StatusCode, reason string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(e2eTimeout))
	data, _, err := wsutil.ReadServerData(c.rw)
	var closed wsutil.ClosedError
	if !errors.As(err, &closed) {
		c.t.Fatalf("%s: want a close frame %d %q, got message %q, error %v", c.name, code, reason, data, err)
	}
	if closed.Code != code || closed.Reason != reason {
		c.t.Fatalf("%s: close frame %d %q, want %d %q", c.name, closed.Code, closed.Reason, code, reason)
	}
}

// leave closes the connection from the client's side with 1000 and waits
// for the gateway's echo (D-34).
func (c *chatClient) leave() {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(e2eTimeout))
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")))); err != nil {
		c.t.Fatalf("%s: send close: %v", c.name, err)
	}
	c.expectClose(ws.StatusNormalClosure, "")
	_ = c.conn.Close()
}

// list is a JSON array of strings as decoded into any.
func list(s ...string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestChatEndToEnd is issue 4's acceptance test: three clients in two
// rooms through the real gateway and the example's backend; every message
// reaches exactly the members of its room.
//
// Each step waits for the actor's reply before the next one starts, and the
// backend makes every @connections call of a step before it replies, so
// each client's frames arrive in step order (RT-26). Reading "the next
// message" of a client therefore proves both that a message arrived and
// that nothing arrived before it; the closing markers prove that nothing
// unexpected arrived after the last step.
func TestChatEndToEnd(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	g := startChat(t, runtime.Options{})

	t.Run("RT-11 handshake refused by $connect", func(t *testing.T) {
		for _, query := range []string{"", "?user=", "?user=no%20spaces"} {
			conn, _, err := g.dialChat(context.Background(), query)
			if conn != nil {
				_ = conn.Close()
			}
			var se ws.StatusError
			if !errors.As(err, &se) || int(se) != http.StatusBadRequest {
				t.Errorf("handshake with query %q: got %v, want HTTP 400 from the backend's $connect", query, err)
			}
		}
	})

	alice := g.connect(t, "alice")
	bob := g.connect(t, "bob")
	carol := g.connect(t, "carol")
	empty := list()

	// Joining: replies to the joiner, presence to the room's other members.
	alice.send(map[string]any{"action": "joinroom", "room": "general"})
	alice.expect("join general", map[string]any{"type": "joined", "room": "general", "members": list("alice"), "history": empty})
	bob.send(map[string]any{"action": "joinroom", "room": "general"})
	bob.expect("join general", map[string]any{"type": "joined", "room": "general", "members": list("alice", "bob"), "history": empty})
	alice.expect("presence of bob", map[string]any{"type": "presence", "room": "general", "user": "bob", "event": "joined", "members": list("alice", "bob")})
	carol.send(map[string]any{"action": "joinroom", "room": "random"})
	carol.expect("join random", map[string]any{"type": "joined", "room": "random", "members": list("carol"), "history": empty})
	alice.send(map[string]any{"action": "joinroom", "room": "random"})
	alice.expect("join random", map[string]any{"type": "joined", "room": "random", "members": list("alice", "carol"), "history": empty})
	carol.expect("presence of alice", map[string]any{"type": "presence", "room": "random", "user": "alice", "event": "joined", "members": list("alice", "carol")})

	// say sends text to room as from, checks the sender's acknowledgement
	// and that each recipient's next message is the broadcast.
	say := func(from *chatClient, room, text string, recipients ...*chatClient) {
		t.Helper()
		from.send(map[string]any{"action": "sendmessage", "room": room, "text": text})
		ack := from.expect("ack of "+text, map[string]any{"type": "ack", "room": room}, "id", "sentAt", "requestId")
		for _, r := range recipients {
			msg := r.expect("message "+text, map[string]any{"type": "message", "room": room, "from": from.name, "text": text}, "id", "sentAt")
			if msg["id"] != ack["id"] || msg["sentAt"] != ack["sentAt"] {
				t.Errorf("%s: message %q has id %v sent at %v; the ack said %v at %v", r.name, text, msg["id"], msg["sentAt"], ack["id"], ack["sentAt"])
			}
		}
	}

	say(alice, "general", "hello general", bob)
	say(carol, "random", "hello random", alice)
	say(bob, "general", "hi alice", alice)
	say(alice, "random", "hi carol", carol)

	// A non-member's message is refused and reaches nobody.
	bob.send(map[string]any{"action": "sendmessage", "room": "random", "text": "let me in"})
	bob.expect("send to a room not joined", map[string]any{"type": "error"}, "message")

	// An unknown action goes to $default, whose 400 body is the reply (D-39).
	carol.send(map[string]any{"action": "dance"})
	help := carol.next()
	var actions []string
	listed, _ := help["actions"].([]any)
	for _, a := range listed {
		action, _ := a.(map[string]any)
		name, _ := action["action"].(string)
		actions = append(actions, name)
	}
	if help["type"] != "help" || help["message"] != `unknown action "dance"` || !cmp.Equal(actions, []string{"joinroom", "sendmessage"}) {
		t.Fatalf("carol: unknown action: got %v, want the backend's help listing joinroom and sendmessage", help)
	}

	// A late joiner gets the room's history but none of its earlier
	// broadcasts.
	dave := g.connect(t, "dave")
	dave.send(map[string]any{"action": "joinroom", "room": "general"})
	joined := dave.next()
	if joined["type"] != "joined" || !cmp.Equal(joined["members"], list("alice", "bob", "dave")) {
		t.Fatalf("dave: join general: got %v", joined)
	}
	var texts []string
	history, _ := joined["history"].([]any)
	for _, h := range history {
		m, _ := h.(map[string]any)
		text, _ := m["text"].(string)
		texts = append(texts, text)
	}
	if want := []string{"hello general", "hi alice"}; !cmp.Equal(texts, want) {
		t.Errorf("dave: general's history = %q, want %q", texts, want)
	}
	alice.expect("presence of dave", map[string]any{"type": "presence", "room": "general", "user": "dave", "event": "joined", "members": list("alice", "bob", "dave")})
	bob.expect("presence of dave", map[string]any{"type": "presence", "room": "general", "user": "dave", "event": "joined", "members": list("alice", "bob", "dave")})

	// Closing markers through each room: the next message of every client
	// is the marker (or its own ack), so nothing else reached anyone.
	say(dave, "general", "marker general", alice, bob)
	say(carol, "random", "marker random", alice)

	// A client that leaves is announced to the rooms it was in (RT-13).
	carol.leave()
	alice.expect("carol left", map[string]any{"type": "presence", "room": "random", "user": "carol", "event": "left", "members": list("alice")})
	bob.leave()
	alice.expect("bob left general", map[string]any{"type": "presence", "room": "general", "user": "bob", "event": "left", "members": list("alice", "dave")})
	dave.expect("bob left general", map[string]any{"type": "presence", "room": "general", "user": "bob", "event": "left", "members": list("alice", "dave")})
	// Nothing reached alice or dave after that.
	say(dave, "general", "marker after leaving", alice)

	// Shutdown closes the remaining connections with 1001 (RT-31, D-34)
	// and leaves no goroutine behind.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		g.stop(t)
	}()
	alice.expectClose(ws.StatusGoingAway, "Going away")
	dave.expectClose(ws.StatusGoingAway, "Going away")
	_ = alice.conn.Close()
	_ = dave.conn.Close()
	<-stopped
	goleak.VerifyNone(t, ignore)
}

// TestChatIdleClientIsClosed leaves a chat client idle past the idle
// timeout: the gateway must close it with 1001 "Going away" (RT-15, D-34),
// and that close frame must reach the client even though the last message
// the gateway wrote to it is older than the write timeout.
func TestChatIdleClientIsClosed(t *testing.T) {
	g := startChat(t, runtime.Options{IdleTimeout: 300 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	alice := g.connect(t, "alice")
	alice.send(map[string]any{"action": "joinroom", "room": "general"})
	alice.expect("join general", map[string]any{"type": "joined", "room": "general", "members": list("alice"), "history": list()})
	alice.expectClose(ws.StatusGoingAway, "Going away")
}
