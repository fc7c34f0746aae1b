package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// serverEvents is what a test WebSocket server saw: the close code the
// client sent (0 when it sent none before the connection ended) and
// anything else a handler reports.
type serverEvents struct {
	closeCode chan ws.StatusCode
	notes     chan string
}

// wsHandler serves one upgraded connection of a test server.
type wsHandler func(conn net.Conn, r *http.Request, ev *serverEvents)

// startWSServer starts a WebSocket server on 127.0.0.1 whose connections
// are upgraded with up and served by h, and returns its ws:// URL (with
// path /prod) and its events. tlsOn serves wss:// and also returns the
// client TLS configuration that trusts it.
func startWSServer(t *testing.T, up ws.HTTPUpgrader, h wsHandler, tlsOn bool) (string, *serverEvents, *tls.Config) {
	t.Helper()
	ev := &serverEvents{closeCode: make(chan ws.StatusCode, 1), notes: make(chan string, 8)}
	var wg sync.WaitGroup
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := up.Upgrade(r, w)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer conn.Close()
		h(conn, r, ev)
	})
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(handler)
	} else {
		srv = httptest.NewServer(handler)
	}
	t.Cleanup(func() {
		srv.Close()
		// Every handler ends once the client has closed its connection.
		wg.Wait()
	})
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/prod"
	var cfg *tls.Config
	if tlsOn {
		cfg = srv.Client().Transport.(*http.Transport).TLSClientConfig
	}
	return u, ev, cfg
}

// serveUntilClose reads the client's messages, calling reply for each data
// message, until the client sends a close frame, whose code it reports
// (1005 for none). answer says whether to answer that frame: not when it
// answers the server's own.
func serveUntilClose(conn net.Conn, ev *serverEvents, answer bool, reply func(op ws.OpCode, p []byte) error) {
	for {
		msgs, err := wsutil.ReadClientMessage(conn, nil)
		if err != nil {
			return
		}
		for _, m := range msgs {
			switch m.OpCode {
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(m.Payload)
				if code.Empty() {
					code = ws.StatusNoStatusRcvd
				}
				ev.closeCode <- code
				if answer {
					ws.WriteFrame(conn, ws.NewCloseFrame(m.Payload[:min(2, len(m.Payload))]))
				}
				return
			case ws.OpText, ws.OpBinary:
				if reply != nil {
					if err := reply(m.OpCode, m.Payload); err != nil {
						return
					}
				}
			}
		}
	}
}

// echoHandler sends every message back.
func echoHandler(conn net.Conn, _ *http.Request, ev *serverEvents) {
	serveUntilClose(conn, ev, true, func(op ws.OpCode, p []byte) error {
		return wsutil.WriteServerMessage(conn, op, p)
	})
}

// closingHandler returns a handler that greets the client, then closes the
// connection with code and reason.
func closingHandler(code ws.StatusCode, reason string) wsHandler {
	return func(conn net.Conn, _ *http.Request, ev *serverEvents) {
		if err := wsutil.WriteServerText(conn, []byte("bye soon")); err != nil {
			return
		}
		if err := ws.WriteFrame(conn, ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason))); err != nil {
			return
		}
		// The client's echo of the close frame.
		serveUntilClose(conn, ev, false, nil)
	}
}

// runConnect runs `wsgwctl connect` in-process with the given stdin.
func runConnect(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"connect"}, args...), strings.NewReader(stdin), &out, &errOut, []string{"NO_COLOR=1"})
	return code, out.String(), errOut.String()
}

// receiveClose returns the close code the test server received, failing
// the test when the server does not report one in time.
func receiveClose(t *testing.T, ev *serverEvents) ws.StatusCode {
	t.Helper()
	select {
	case code := <-ev.closeCode:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not receive a close frame")
		return 0
	}
}

func TestConnectExchange(t *testing.T) {
	tests := []struct {
		name       string
		upgrader   ws.HTTPUpgrader
		handler    wsHandler
		args       []string // after the URL
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr []string // lines stderr must contain, in order
		// wantClose is the close code the server must receive; 0 skips
		// the check.
		wantClose ws.StatusCode
	}{
		{
			name:       "-x echoes in order",
			handler:    echoHandler,
			args:       []string{"-x", "hello", "-x", `{"action":"sendmessage","data":"hi"}`, "--wait", "1s"},
			wantStdout: "hello\n{\"action\":\"sendmessage\",\"data\":\"hi\"}\n",
			wantStderr: []string{"Connected to URL"},
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name: "-x prints several replies per message",
			handler: func(conn net.Conn, _ *http.Request, ev *serverEvents) {
				serveUntilClose(conn, ev, true, func(_ ws.OpCode, p []byte) error {
					for i := 1; i <= 3; i++ {
						if err := wsutil.WriteServerText(conn, fmt.Appendf(nil, "%s %d/3", p, i)); err != nil {
							return err
						}
					}
					return nil
				})
			},
			args:       []string{"-x", "a", "-x", "b", "--wait", "1s"},
			wantStdout: "a 1/3\na 2/3\na 3/3\nb 1/3\nb 2/3\nb 3/3\n",
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name:       "stdin lines are sent, empty ones skipped",
			handler:    echoHandler,
			args:       []string{"--wait", "1s"},
			stdin:      "hello\n\nworld\r\nlast line without newline",
			wantStdout: "hello\nworld\nlast line without newline\n",
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name:       "invalid UTF-8 on stdin is not sent",
			handler:    echoHandler,
			args:       []string{"--wait", "1s"},
			stdin:      "ok\n\xff\xfe\n",
			wantStdout: "ok\n",
			wantStderr: []string{"Warning: line 2 of stdin is not valid UTF-8 and was not sent."},
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name:       "subprotocol chosen by the server",
			upgrader:   ws.HTTPUpgrader{Protocol: func(p string) bool { return p == "chat.v2" }},
			handler:    echoHandler,
			args:       []string{"--subprotocol", "chat.v1", "--subprotocol", "chat.v2", "-x", "hi", "--wait", "1s"},
			wantStdout: "hi\n",
			wantStderr: []string{"Connected to URL (subprotocol: chat.v2)"},
		},
		{
			name:       "subprotocol offered, none chosen",
			handler:    echoHandler,
			args:       []string{"--subprotocol", "chat.v1", "-x", "hi", "--wait", "1s"},
			wantStdout: "hi\n",
			wantStderr: []string{"Connected to URL (the server chose no subprotocol)"},
		},
		{
			name: "handshake headers are sent",
			handler: func(conn net.Conn, r *http.Request, ev *serverEvents) {
				greeting := fmt.Sprintf("key=%s auth=%s host=%s", r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"), r.Host)
				if err := wsutil.WriteServerText(conn, []byte(greeting)); err != nil {
					return
				}
				serveUntilClose(conn, ev, true, nil)
			},
			args:       []string{"-H", "x-api-key: k3y", "-H", "Authorization:Bearer a b", "-H", "Host: chat.example.com", "--wait", "1s"},
			wantStdout: "key=k3y auth=Bearer a b host=chat.example.com\n",
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name:       "server closes with 1001",
			handler:    closingHandler(ws.StatusGoingAway, "Going away"),
			args:       []string{"--wait", "1m"},
			wantStdout: "bye soon\n",
			wantStderr: []string{"Connected to URL", "Connection closed: 1001 Going away"},
			wantClose:  ws.StatusGoingAway, // the client's echo
		},
		{
			name:       "server closes with 1000 during -x",
			handler:    closingHandler(ws.StatusNormalClosure, ""),
			args:       []string{"-x", "hi", "--wait", "1m"},
			wantStdout: "bye soon\n",
			wantStderr: []string{"Connection closed: 1000\n"},
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name:       "server closes with 1011",
			handler:    closingHandler(ws.StatusInternalServerError, "Internal server error"),
			args:       []string{"--wait", "1m"},
			wantCode:   1,
			wantStdout: "bye soon\n",
			wantStderr: []string{"Connection closed: 1011 Internal server error"},
			wantClose:  ws.StatusInternalServerError,
		},
		{
			name: "server closes without a code",
			handler: func(conn net.Conn, _ *http.Request, ev *serverEvents) {
				if err := ws.WriteFrame(conn, ws.NewCloseFrame(nil)); err != nil {
					return
				}
				serveUntilClose(conn, ev, false, nil)
			},
			args:       []string{"--wait", "1m"},
			wantStderr: []string{"Connection closed: 1005"},
			wantClose:  ws.StatusNoStatusRcvd,
		},
		{
			name: "server drops the connection",
			handler: func(conn net.Conn, _ *http.Request, _ *serverEvents) {
				conn.Close()
			},
			args:       []string{"-x", "hi", "--wait", "1m"},
			wantCode:   1,
			wantStderr: []string{"Error: connection to URL lost without a close frame (1006)"},
		},
		{
			name: "binary messages are reported, not printed",
			handler: func(conn net.Conn, _ *http.Request, ev *serverEvents) {
				if wsutil.WriteServerBinary(conn, []byte{1, 2, 3}) != nil || wsutil.WriteServerText(conn, []byte("done")) != nil {
					return
				}
				serveUntilClose(conn, ev, true, nil)
			},
			args:       []string{"--wait", "1s"},
			wantStdout: "done\n",
			wantStderr: []string{"Received a binary message of 3 bytes (not printed)."},
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name: "pings are answered",
			handler: func(conn net.Conn, _ *http.Request, ev *serverEvents) {
				if ws.WriteFrame(conn, ws.NewPingFrame([]byte("are you there"))) != nil {
					return
				}
				msgs, err := wsutil.ReadClientMessage(conn, nil)
				if err != nil {
					return
				}
				reply := "no pong"
				if len(msgs) == 1 && msgs[0].OpCode == ws.OpPong {
					reply = "pong: " + string(msgs[0].Payload)
				}
				if wsutil.WriteServerText(conn, []byte(reply)) != nil {
					return
				}
				serveUntilClose(conn, ev, true, nil)
			},
			args:       []string{"--wait", "1s"},
			wantStdout: "pong: are you there\n",
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name: "fragmented message with a ping inside",
			handler: func(conn net.Conn, _ *http.Request, ev *serverEvents) {
				frames := []ws.Frame{
					ws.NewFrame(ws.OpText, false, []byte("hel")),
					ws.NewPingFrame(nil),
					ws.NewFrame(ws.OpContinuation, true, []byte("lo")),
				}
				for _, f := range frames {
					if ws.WriteFrame(conn, f) != nil {
						return
					}
				}
				serveUntilClose(conn, ev, true, nil)
			},
			args:       []string{"--wait", "1s"},
			wantStdout: "hello\n",
			wantClose:  ws.StatusNormalClosure,
		},
		{
			name: "invalid UTF-8 from the server",
			handler: func(conn net.Conn, _ *http.Request, ev *serverEvents) {
				if wsutil.WriteServerText(conn, []byte("\xff")) != nil {
					return
				}
				serveUntilClose(conn, ev, true, nil)
			},
			args:       []string{"--wait", "1m"},
			wantCode:   1,
			wantStderr: []string{"Error: read from URL: the server sent a text message that is not valid UTF-8; closed the connection with 1007"},
			wantClose:  ws.StatusInvalidFramePayloadData,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, ev, _ := startWSServer(t, tt.upgrader, tt.handler, false)
			code, stdout, stderr := runConnect(tt.stdin, append([]string{u}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d", code, tt.wantCode)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout:\n%q\nwant:\n%q", stdout, tt.wantStdout)
			}
			rest := stderr
			for _, want := range tt.wantStderr {
				want = strings.ReplaceAll(want, "URL", u)
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("stderr lacks %q (in order):\n%s", want, stderr)
					break
				}
				rest = rest[i+len(want):]
			}
			if tt.wantClose != 0 {
				if got := receiveClose(t, ev); got != tt.wantClose {
					t.Errorf("server received close code %d, want %d", got, tt.wantClose)
				}
			}
		})
	}
}

func TestConnectHandshakeFailures(t *testing.T) {
	reject := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return "ws" + strings.TrimPrefix(srv.URL, "http") + "/prod"
	}
	forbidden := reject(http.StatusForbidden, `{"message":"Forbidden"}`)
	notFound := reject(http.StatusNotFound, "")

	// A port nothing listens on: taken from a listener that is closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "ws://" + l.Addr().String() + "/prod"
	l.Close()

	// A server that accepts connections but never answers the handshake.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	held.Add(1)
	go func() {
		defer held.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		held.Wait()
	})

	tests := []struct {
		name       string
		url        string
		args       []string
		wantStderr []string
	}{
		{
			name:       "403",
			url:        forbidden,
			wantStderr: []string{"Error: connect to " + forbidden + ": handshake rejected: 403 Forbidden\n", "-H 'x-api-key: KEY'"},
		},
		{
			name:       "404",
			url:        notFound,
			wantStderr: []string{"Error: connect to " + notFound + ": handshake rejected: 404 Not Found\n", "check the stage name"},
		},
		{
			name:       "connection refused",
			url:        refused,
			wantStderr: []string{"Error: connect to " + refused + ": ", "connection refused"},
		},
		{
			name:       "handshake timeout",
			url:        "ws://" + silent.Addr().String() + "/prod",
			args:       []string{"--connect-timeout", "200ms"},
			wantStderr: []string{"Error: connect to ws://" + silent.Addr().String() + "/prod: no handshake answer within 200ms (--connect-timeout)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runConnect("", append([]string{tt.url, "-x", "hi"}, tt.args...)...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Contains(stderr, "Connected") {
				t.Errorf("stderr claims a connection:\n%s", stderr)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func TestConnectUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no URL", args: nil, want: "missing URL"},
		{name: "two URLs", args: []string{"ws://a", "ws://b"}, want: `unexpected argument "ws://b"`},
		{name: "http URL", args: []string{"http://127.0.0.1:8080/prod"}, want: `invalid URL "http://127.0.0.1:8080/prod": the scheme must be ws or wss, not http`},
		{name: "no scheme", args: []string{"127.0.0.1:8080/prod"}, want: "expected ws://HOST[:PORT]/PATH"},
		{name: "no host", args: []string{"ws:///prod"}, want: "the host is missing"},
		{name: "-H without colon", args: []string{"ws://h/p", "-H", "Authorization Bearer x"}, want: `invalid value "Authorization Bearer x" for -H/--header: expected -H 'Name: value'`},
		{name: "-H without name", args: []string{"ws://h/p", "-H", ": x"}, want: "the header name is missing"},
		{name: "-H bad name", args: []string{"ws://h/p", "-H", "X Key: x"}, want: `"X Key" is not a valid header name`},
		{name: "-H handshake header", args: []string{"ws://h/p", "-H", "sec-websocket-key: x"}, want: "the WebSocket handshake sets Sec-WebSocket-Key itself"},
		{name: "-H subprotocol", args: []string{"ws://h/p", "-H", "Sec-WebSocket-Protocol: chat"}, want: "--subprotocol P instead"},
		{name: "bad subprotocol", args: []string{"ws://h/p", "--subprotocol", "a, b"}, want: `invalid value "a, b" for --subprotocol`},
		{name: "zero --wait", args: []string{"ws://h/p", "--wait", "0s"}, want: "invalid value 0s for --wait: must be positive"},
		{name: "--wait without unit", args: []string{"ws://h/p", "--wait", "2"}, want: `invalid argument "2" for "--wait" flag`},
		{name: "negative --connect-timeout", args: []string{"ws://h/p", "--connect-timeout", "-1s"}, want: "invalid value -1s for --connect-timeout"},
		{name: "-x not UTF-8", args: []string{"ws://h/p", "-x", "\xff"}, want: "must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runConnect("", tt.args...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "Error: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not report %q:\n%s", tt.want, stderr)
			}
			if !strings.Contains(stderr, "Run 'wsgwctl connect --help' for usage.") {
				t.Errorf("stderr does not point at the help:\n%s", stderr)
			}
		})
	}
}

// TestConnectInterrupt cancels the command's context, as Ctrl-C does, in the
// middle of an interactive session: the client closes with 1000 and exits 0
// after printing what had arrived.
func TestConnectInterrupt(t *testing.T) {
	received := make(chan string, 1)
	u, ev, _ := startWSServer(t, ws.HTTPUpgrader{}, func(conn net.Conn, r *http.Request, ev *serverEvents) {
		serveUntilClose(conn, ev, true, func(op ws.OpCode, p []byte) error {
			if err := wsutil.WriteServerMessage(conn, op, p); err != nil {
				return err
			}
			received <- string(p)
			return nil
		})
	}, false)

	stdinR, stdinW := io.Pipe()
	t.Cleanup(func() { stdinW.Close() })
	var stdout, stderr bytes.Buffer
	a := &app{stdin: stdinR, stdout: &stdout, stderr: &stderr, environ: []string{"NO_COLOR=1"}}
	c, err := newConnectRun(a, u, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.run(ctx) }()

	// The line is read once the connection is open; the server echoing it
	// shows the session is under way.
	if _, err := io.WriteString(stdinW, "hi\n"); err != nil {
		t.Fatal(err)
	}
	if got := <-received; got != "hi" {
		t.Fatalf("server received %q", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := receiveClose(t, ev); got != ws.StatusNormalClosure {
		t.Errorf("server received close code %d, want 1000", got)
	}
	if stdout.String() != "hi\n" {
		t.Errorf("stdout = %q, want %q", stdout.String(), "hi\n")
	}
}

// TestConnectCloseTimeout has the server ignore the client's close frame:
// the client gives up after its close timeout, warns, and exits 0.
func TestConnectCloseTimeout(t *testing.T) {
	u, ev, _ := startWSServer(t, ws.HTTPUpgrader{}, func(conn net.Conn, _ *http.Request, ev *serverEvents) {
		// Report the close frame without answering it, then wait for the
		// client to drop the connection.
		serveUntilClose(conn, ev, false, nil)
		io.Copy(io.Discard, conn)
	}, false)
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, environ: []string{"NO_COLOR=1"}}
	c, err := newConnectRun(a, u, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.wait = 100 * time.Millisecond
	c.closeTimeout = 200 * time.Millisecond
	if err := c.run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := receiveClose(t, ev); got != ws.StatusNormalClosure {
		t.Errorf("server received close code %d, want 1000", got)
	}
	want := "Warning: " + u + " did not answer the close frame within 200ms; the connection was dropped.\n"
	if !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("stderr does not end with %q:\n%s", want, stderr.String())
	}
}

// TestConnectQuietPeriodRestarts has the server send replies spaced less
// than --wait apart but lasting longer than it in total: the client must not
// start closing before the last one, because each reply restarts the quiet
// period.
func TestConnectQuietPeriodRestarts(t *testing.T) {
	const replies = 12
	u, ev, _ := startWSServer(t, ws.HTTPUpgrader{}, func(conn net.Conn, _ *http.Request, ev *serverEvents) {
		if _, err := wsutil.ReadClientMessage(conn, nil); err != nil {
			return
		}
		// Watch for the client's close frame while replying.
		closed := make(chan ws.StatusCode, 1)
		watcherDone := make(chan struct{})
		go func() {
			defer close(watcherDone)
			serveUntilClose(conn, &serverEvents{closeCode: closed}, false, nil)
		}()
		defer func() {
			conn.Close()
			<-watcherDone
		}()
		for i := 1; i <= replies; i++ {
			if i > 1 {
				// The pacing is the scenario under test, not
				// synchronisation: 11 gaps of 200ms outlast --wait 2s,
				// and each gap leaves 1.8s of margin on a loaded machine.
				time.Sleep(200 * time.Millisecond)
			}
			select {
			case <-closed:
				ev.notes <- fmt.Sprintf("the client closed before reply %d", i)
				return
			default:
			}
			if wsutil.WriteServerText(conn, fmt.Appendf(nil, "tick %d", i)) != nil {
				return
			}
		}
		ev.closeCode <- <-closed
		ws.WriteFrame(conn, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	}, false)
	code, stdout, stderr := runConnect("", u, "-x", "tick", "--wait", "2s")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	select {
	case note := <-ev.notes:
		t.Fatal(note)
	case got := <-ev.closeCode:
		if got != ws.StatusNormalClosure {
			t.Errorf("server received close code %d, want 1000", got)
		}
	}
	var want strings.Builder
	for i := 1; i <= replies; i++ {
		fmt.Fprintf(&want, "tick %d\n", i)
	}
	if want := want.String(); stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
}
