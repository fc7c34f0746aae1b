package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/spf13/cobra"
)

func init() {
	registerCommand(newConnectCmd)
}

// Defaults and limits of `wsgwctl connect`.
const (
	// connectDefaultWait is the default quiet period of --wait.
	connectDefaultWait = 2 * time.Second
	// connectDefaultTimeout is the default of --connect-timeout: how long
	// the TCP connect, TLS and WebSocket handshakes may take together.
	connectDefaultTimeout = 10 * time.Second
	// connectCloseTimeout bounds the wait for the server's answer to the
	// close frame the client sends.
	connectCloseTimeout = 3 * time.Second
	// connectWriteTimeout bounds every frame write, so that a server that
	// stops reading cannot block the client.
	connectWriteTimeout = 10 * time.Second
	// connectMaxMessage is the largest frame and message, in bytes, the
	// client reads (and the longest input line it sends). A bigger one
	// closes the connection with 1009.
	connectMaxMessage = 16 << 20
)

// newConnectCmd returns `wsgwctl connect` (CLI-11): a terminal client for
// any WebSocket server, the gateway's stages in particular.
func newConnectCmd(a *app) *cobra.Command {
	var (
		headers      []string
		subprotocols []string
		messages     []string
		wait         time.Duration
		timeout      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "connect URL",
		Short: "Open a WebSocket connection and exchange messages with it",
		Long: "Connects to URL (ws:// or wss://) and prints every text message received on stdout,\n" +
			"one per line; on a terminal each line is marked with '< '. Binary messages are\n" +
			"reported on stderr, not printed. Pings are answered.\n\n" +
			"Without -x, each line read from stdin is sent as a text message (empty lines are\n" +
			"skipped). When stdin ends, the connection is closed with 1000 once no message has\n" +
			"arrived for --wait, so that replies to the last lines are printed first.\n\n" +
			"With -x, the given messages are sent in order (stdin is not read), and the\n" +
			"connection is closed with 1000 once no message has arrived for --wait.\n\n" +
			"Ctrl-C closes the connection with 1000 at once. The server's answer to a close is\n" +
			"awaited for at most " + connectCloseTimeout.String() + ". When the server closes the connection, its close code and\n" +
			"reason are printed on stderr as 'Connection closed: CODE REASON'.\n\n" +
			"Exit status: 0 when the client closed the connection, or the server closed it with\n" +
			"1000 (normal), 1001 (going away) or no code; 1 when the handshake failed or was\n" +
			"rejected (its HTTP status is printed), the server closed with any other code, or\n" +
			"the connection was lost.",
		Example: "  wsgwctl connect ws://127.0.0.1:8080/prod\n" +
			"  wsgwctl connect ws://127.0.0.1:8080/prod -H 'x-api-key: k3y' -x '{\"action\":\"ping\"}'\n" +
			"  printf 'hello\\nworld\\n' | wsgwctl connect --subprotocol chat ws://127.0.0.1:8080/prod",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("missing URL: connect needs the WebSocket URL to connect to, for example ws://127.0.0.1:8080/prod")
			case len(args) > 1:
				return usagef("unexpected argument %q: connect takes one URL", args[1])
			}
			c, err := newConnectRun(a, args[0], headers, subprotocols, messages)
			if err != nil {
				return err
			}
			if wait <= 0 {
				return usagef("invalid value %s for --wait: must be positive, for example --wait 500ms", wait)
			}
			if timeout <= 0 {
				return usagef("invalid value %s for --connect-timeout: must be positive, for example --connect-timeout 30s", timeout)
			}
			c.interactive = !cmd.Flags().Changed("execute")
			c.wait = wait
			c.connectTimeout = timeout
			// The context ends on Ctrl-C and SIGTERM (Main), which close
			// the connection politely.
			return c.run(cmd.Context())
		},
	}
	flags := cmd.Flags()
	flags.StringArrayVarP(&headers, "header", "H", nil, "send the handshake header `'Name: value'` (repeatable)")
	flags.StringArrayVar(&subprotocols, "subprotocol", nil, "offer the subprotocol `P` (repeatable, in order of preference)")
	flags.StringArrayVarP(&messages, "execute", "x", nil, "send `MESSAGE`, print the replies and exit (repeatable)")
	flags.DurationVar(&wait, "wait", connectDefaultWait, "close once no message has arrived for `DURATION` after the last one was sent")
	flags.DurationVar(&timeout, "connect-timeout", connectDefaultTimeout, "give up when the handshake takes longer than `DURATION`")
	return cmd
}

// connectRun is one `wsgwctl connect`: what to connect to, what to send,
// and the state of the connection once it is open.
type connectRun struct {
	a *app

	url          string   // the URL as the user wrote it, for messages
	target       *url.URL // the parsed URL
	header       string   // extra handshake header lines, each ending in CRLF
	host         string   // the Host header given with -H, "" for the URL's
	subprotocols []string // --subprotocol, in order of preference
	messages     []string // -x, in order
	interactive  bool     // whether lines are read from stdin (no -x)
	wait         time.Duration
	// connectTimeout bounds the TCP, TLS and WebSocket handshakes.
	connectTimeout time.Duration
	// closeTimeout bounds the wait for the server's answer to the client's
	// close frame.
	closeTimeout time.Duration
	// tlsConfig is the TLS configuration of wss:// connections; nil means
	// the system's roots and the URL's host name.
	tlsConfig *tls.Config

	conn net.Conn
	w    *frameWriter
	// closedLocally is set before the client closes the network connection
	// itself, so that the reader's error is not taken for a lost connection.
	closedLocally atomic.Bool
}

// newConnectRun checks the URL, -H, --subprotocol and -x values and returns
// the run they describe. Mistakes are usage errors naming the flag and the
// expected form.
func newConnectRun(a *app, rawURL string, headers, subprotocols, messages []string) (*connectRun, error) {
	target, err := parseWebSocketURL(rawURL)
	if err != nil {
		return nil, err
	}
	c := &connectRun{
		a:              a,
		url:            rawURL,
		target:         target,
		messages:       messages,
		interactive:    true,
		wait:           connectDefaultWait,
		connectTimeout: connectDefaultTimeout,
		closeTimeout:   connectCloseTimeout,
	}
	var lines strings.Builder
	for _, h := range headers {
		name, value, err := parseHeaderFlag(h)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(name, "Host") {
			c.host = value
			continue
		}
		lines.WriteString(name + ": " + value + "\r\n")
	}
	c.header = lines.String()
	for _, p := range subprotocols {
		if p == "" || !isHTTPToken(p) {
			return nil, usagef("invalid value %q for --subprotocol: a subprotocol is one token without spaces or commas, for example --subprotocol chat.v1 (repeat the flag to offer several)", p)
		}
	}
	c.subprotocols = subprotocols
	for _, m := range messages {
		if !utf8.ValidString(m) {
			return nil, usagef("invalid value %q for -x/--execute: a text message must be valid UTF-8", m)
		}
	}
	return c, nil
}

// parseWebSocketURL parses a ws:// or wss:// URL with a host.
func parseWebSocketURL(raw string) (*url.URL, error) {
	const form = "expected ws://HOST[:PORT]/PATH or wss://HOST[:PORT]/PATH, for example ws://127.0.0.1:8080/prod"
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("invalid URL %q: %s", raw, form)
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss":
		u.Scheme = strings.ToLower(u.Scheme)
	case "http", "https":
		return nil, usagef("invalid URL %q: the scheme must be ws or wss, not %s (%s)", raw, u.Scheme, form)
	case "":
		return nil, usagef("invalid URL %q: the scheme is missing (%s)", raw, form)
	default:
		return nil, usagef("invalid URL %q: the scheme must be ws or wss (%s)", raw, form)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, usagef("invalid URL %q: the host is missing (%s)", raw, form)
	}
	if u.User != nil {
		return nil, usagef("invalid URL %q: user information in the URL is not sent; use -H 'Authorization: ...' instead", raw)
	}
	if u.Fragment != "" {
		return nil, usagef("invalid URL %q: a WebSocket URL has no #fragment", raw)
	}
	return u, nil
}

// handshakeHeaders are the headers the WebSocket handshake writes itself;
// -H may not set them.
var handshakeHeaders = []string{
	"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
	"Sec-WebSocket-Accept", "Sec-WebSocket-Extensions", "Content-Length", "Transfer-Encoding",
}

// parseHeaderFlag parses one -H value, `Name: value`. The name keeps the
// user's spelling: a gateway reports handshake headers as the client sent
// them (D-42).
func parseHeaderFlag(h string) (name, value string, err error) {
	const form = "expected -H 'Name: value', for example -H 'Authorization: Bearer abc'"
	name, value, ok := strings.Cut(h, ":")
	if !ok {
		return "", "", usagef("invalid value %q for -H/--header: %s", h, form)
	}
	name = strings.TrimSpace(name)
	value = strings.Trim(value, " \t")
	switch {
	case name == "":
		return "", "", usagef("invalid value %q for -H/--header: the header name is missing (%s)", h, form)
	case !isHTTPToken(name):
		return "", "", usagef("invalid value %q for -H/--header: %q is not a valid header name (%s)", h, name, form)
	case strings.ContainsAny(value, "\r\n\x00"):
		return "", "", usagef("invalid value %q for -H/--header: a header value may not contain line breaks or NUL", h)
	case strings.EqualFold(name, "Sec-WebSocket-Protocol"):
		return "", "", usagef("invalid value %q for -H/--header: offer subprotocols with --subprotocol P instead", h)
	}
	for _, reserved := range handshakeHeaders {
		if strings.EqualFold(name, reserved) {
			return "", "", usagef("invalid value %q for -H/--header: the WebSocket handshake sets %s itself", h, reserved)
		}
	}
	return name, value, nil
}

// isHTTPToken reports whether s is an RFC 9110 token: a header name or a
// subprotocol.
func isHTTPToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// run connects, exchanges messages until the connection ends, and returns
// the command's outcome: nil, an exitCode or an error to print.
func (c *connectRun) run(ctx context.Context) error {
	conn, br, hs, err := c.dial(ctx)
	if err != nil {
		return err
	}
	c.conn = conn
	c.w = &frameWriter{conn: conn}

	a := c.a
	connected := styled(a.colorFor(a.stderr), color.FgGreen, color.Bold).Sprintf("Connected to %s", c.url)
	switch {
	case hs.Protocol != "":
		connected += fmt.Sprintf(" (subprotocol: %s)", hs.Protocol)
	case len(c.subprotocols) > 0:
		connected += " (the server chose no subprotocol)"
	}
	fmt.Fprintln(a.stderr, connected)
	if c.interactive && a.stdinIsTerminal() {
		fmt.Fprintln(a.stderr, "Type a message and press Enter to send it; Ctrl-D or Ctrl-C closes the connection.")
	}

	var src io.Reader = conn
	if br != nil {
		// The server sent frames right behind its handshake answer; they
		// are in br, which reads on from conn.
		src = br
	}
	msgs := make(chan message)
	var end readEnd
	go func() {
		defer close(msgs)
		end = c.readFrames(src, msgs)
	}()
	err = c.exchange(ctx, msgs)
	// msgs is closed: the reader has returned and set end.
	conn.Close()
	if br != nil {
		ws.PutReader(br)
	}
	return c.outcome(end, err)
}

// dial opens the connection and makes the WebSocket handshake. A rejected
// handshake's error names the URL and the HTTP status.
func (c *connectRun) dial(ctx context.Context) (net.Conn, *bufio.Reader, ws.Handshake, error) {
	var rejected struct {
		status int
		reason string
	}
	d := ws.Dialer{
		Timeout:   c.connectTimeout,
		Protocols: c.subprotocols,
		Host:      c.host,
		TLSConfig: c.tlsConfig,
		OnStatusError: func(status int, reason []byte, _ io.Reader) {
			rejected.status, rejected.reason = status, string(reason)
		},
	}
	if c.header != "" {
		d.Header = ws.HandshakeHeaderString(c.header)
	}
	conn, br, hs, err := d.Dial(ctx, c.target.String())
	if err == nil {
		return conn, br, hs, nil
	}
	var status ws.StatusError
	var netErr net.Error
	switch {
	case errors.As(err, &status):
		if rejected.status == 0 {
			rejected.status = int(status)
		}
		reason := strings.TrimSpace(rejected.reason)
		if reason == "" {
			reason = http.StatusText(rejected.status)
		}
		msg := strings.TrimSpace(fmt.Sprintf("connect to %s: handshake rejected: %d %s", c.url, rejected.status, reason))
		if hint := rejectionHint(rejected.status); hint != "" {
			msg += "\n\n" + hint
		}
		return nil, nil, hs, errors.New(msg)
	case errors.Is(err, ws.ErrHandshakeBadSubProtocol):
		return nil, nil, hs, fmt.Errorf("connect to %s: the server chose a subprotocol that was not offered with --subprotocol", c.url)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil, nil, hs, fmt.Errorf("connect to %s: interrupted", c.url)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return nil, nil, hs, fmt.Errorf("connect to %s: no handshake answer within %s (--connect-timeout)", c.url, c.connectTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, nil, hs, fmt.Errorf("connect to %s: %w\n\nNothing accepts connections at %s: check the address, and that the gateway is running (wsgwctl serve).", c.url, err, c.target.Host)
	}
	return nil, nil, hs, fmt.Errorf("connect to %s: %w", c.url, err)
}

// rejectionHint explains the handshake statuses a gateway commonly answers
// with, or returns "".
func rejectionHint(status int) string {
	switch status {
	case 401, 403:
		return "An authorizer or API key check refused the handshake. Send credentials with -H,\n" +
			"for example -H 'Authorization: Bearer TOKEN' or -H 'x-api-key: KEY'."
	case 404:
		return "Nothing is served at this path: check the stage name in the URL."
	case 429:
		return "The server throttled the handshake: try again later."
	}
	return ""
}

// message is a data message received from the server.
type message struct {
	op      ws.OpCode // ws.OpText or ws.OpBinary
	payload []byte
}

// readEnd says why the reader stopped.
type readEnd struct {
	// closed is set when the server sent a close frame, with its code
	// (ws.StatusNoStatusRcvd when it had none) and reason.
	closed bool
	code   ws.StatusCode
	reason string
	// err is why reading stopped otherwise: the connection was lost, or
	// the server broke the protocol.
	err error
}

// closeReceived is returned by handleControl for the server's close frame.
type closeReceived struct {
	code   ws.StatusCode
	reason string
}

func (e *closeReceived) Error() string {
	return strings.TrimSpace(fmt.Sprintf("connection closed with %d %s", e.code, e.reason))
}

// readFrames reads frames from src until the server closes the connection
// or reading fails, sending every data message to msgs. It answers pings,
// and echoes the server's close frame unless the client has sent one. It
// is the only reader of the connection.
func (c *connectRun) readFrames(src io.Reader, msgs chan<- message) readEnd {
	rd := &wsutil.Reader{
		Source:         src,
		State:          ws.StateClientSide,
		CheckUTF8:      true,
		MaxFrameSize:   connectMaxMessage,
		MaxMessageSize: connectMaxMessage,
	}
	// Control frames between the fragments of a message.
	rd.OnIntermediate = func(h ws.Header, body io.Reader) error {
		p, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		return c.handleControl(h.OpCode, p)
	}
	for {
		h, err := rd.NextFrame()
		if err != nil {
			return c.readFailed(err)
		}
		p, err := io.ReadAll(rd)
		if err != nil {
			return c.readFailed(err)
		}
		if h.OpCode.IsControl() {
			if err := c.handleControl(h.OpCode, p); err != nil {
				return c.readFailed(err)
			}
			continue
		}
		msgs <- message{op: h.OpCode, payload: p}
	}
}

// handleControl answers a ping with a pong and the server's close frame
// with a close frame echoing its code (RFC 6455 §5.5.1), returning a
// *closeReceived for the latter.
func (c *connectRun) handleControl(op ws.OpCode, p []byte) error {
	switch op {
	case ws.OpPing:
		if err := c.w.write(ws.OpPong, p); err != nil && !errors.Is(err, errCloseSent) {
			return fmt.Errorf("answer ping: %w", err)
		}
		return nil
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(p)
		echo := ws.NewCloseFrameBody(code, "")
		if code.Empty() {
			code, echo = ws.StatusNoStatusRcvd, nil
		} else if err := ws.CheckCloseFrameData(code, reason); err != nil {
			return fmt.Errorf("read close frame: %w", err)
		}
		// An error here means the client's own close frame went first or
		// the connection is gone; either way the close is complete.
		_ = c.w.writeClose(echo, false)
		return &closeReceived{code: code, reason: reason}
	}
	return nil
}

// readFailed turns the reason reading stopped into a readEnd. A server
// that breaks the protocol is sent a close frame saying how (1002, 1007 or
// 1009), as RFC 6455 §7.4.1 asks.
func (c *connectRun) readFailed(err error) readEnd {
	var closed *closeReceived
	if errors.As(err, &closed) {
		return readEnd{closed: true, code: closed.code, reason: closed.reason}
	}
	var protocolErr ws.ProtocolError
	var code ws.StatusCode
	switch {
	case errors.Is(err, wsutil.ErrFrameTooLarge), errors.Is(err, wsutil.ErrMessageTooLarge):
		code = ws.StatusMessageTooBig
		err = fmt.Errorf("a message from the server exceeds the limit of %d bytes", connectMaxMessage)
	case errors.Is(err, wsutil.ErrInvalidUTF8):
		code = ws.StatusInvalidFramePayloadData
		err = errors.New("the server sent a text message that is not valid UTF-8")
	case errors.As(err, &protocolErr):
		code = ws.StatusProtocolError
		err = fmt.Errorf("the server broke the WebSocket protocol: %w", err)
	}
	if code != 0 {
		_ = c.w.writeClose(ws.NewCloseFrameBody(code, ""), true)
		return readEnd{err: fmt.Errorf("%w; closed the connection with %d", err, code)}
	}
	return readEnd{err: err}
}

// exchange sends the -x messages or the lines of stdin, prints what
// arrives, and closes the connection when the conversation is over. It
// returns once the reader has stopped and msgs is closed, with the error
// that ended the exchange on the client's side (a failed send, an
// unreadable stdin), if any.
func (c *connectRun) exchange(ctx context.Context, msgs <-chan message) error {
	var (
		failure  error            // the client-side error to report
		quiet    *time.Timer      // runs while waiting for the last replies
		quietC   <-chan time.Time // quiet.C while it counts, else nil
		closeC   <-chan time.Time // runs once the client's close frame is sent
		lines    <-chan inputLine
		ctxDone  = ctx.Done()
		stdinEnd = make(chan struct{})
	)
	defer close(stdinEnd)
	startQuiet := func() {
		quiet = time.NewTimer(c.wait)
		quietC = quiet.C
	}
	abort := func() {
		c.closedLocally.Store(true)
		c.conn.Close()
	}
	// startClose sends the client's close frame and bounds the wait for the
	// server's answer.
	startClose := func() {
		quietC, lines, ctxDone = nil, nil, nil
		if quiet != nil {
			quiet.Stop()
		}
		if err := c.w.writeClose(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""), true); err != nil {
			if !errors.Is(err, errCloseSent) {
				abort()
			}
			return
		}
		closeTimer := time.NewTimer(c.closeTimeout)
		closeC = closeTimer.C
	}
	// send sends a text message and reports whether it was sent. When the
	// connection has ended, the reader is left to find out how (a close
	// frame may be waiting to be read), within the close timeout.
	send := func(text string) bool {
		err := c.w.write(ws.OpText, []byte(text))
		switch {
		case err == nil:
			return true
		case errors.Is(err, errCloseSent):
		case isConnectionEnd(err) && !isTimeout(err):
			quietC, lines = nil, nil
			closeC = time.NewTimer(c.closeTimeout).C
		default:
			failure = fmt.Errorf("send a message to %s: %w", c.url, err)
			abort()
		}
		return false
	}

	if c.interactive {
		lines = readLines(c.a.stdin, stdinEnd)
	} else {
		sent := true
		for _, m := range c.messages {
			if sent = send(m); !sent {
				break
			}
		}
		if sent {
			startQuiet()
		}
	}

	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return failure
			}
			c.print(m)
			if quietC != nil {
				quiet.Reset(c.wait)
			}
		case l, ok := <-lines:
			switch {
			case !ok:
				lines = nil
				startQuiet()
			case l.err != nil:
				failure = l.err
				startClose()
			case l.text == "":
			case !utf8.ValidString(l.text):
				fmt.Fprintf(c.a.stderr, "Warning: line %d of stdin is not valid UTF-8 and was not sent.\n", l.number)
			default:
				if !send(l.text) {
					lines = nil
				}
			}
		case <-quietC:
			startClose()
		case <-ctxDone:
			startClose()
		case <-closeC:
			// The server did not answer the close frame in time.
			closeC = nil
			abort()
		}
	}
}

// print writes a received message: text on stdout, one message per line
// (marked with '< ' when stdout is a terminal), and a notice on stderr for
// a binary message.
func (c *connectRun) print(m message) {
	a := c.a
	if m.op == ws.OpBinary {
		fmt.Fprintf(a.stderr, "Received a binary message of %d bytes (not printed).\n", len(m.payload))
		return
	}
	if a.writerIsTerminal(a.stdout) {
		fmt.Fprintf(a.stdout, "%s %s\n", styled(a.colorFor(a.stdout), color.FgCyan, color.Bold).Sprint("<"), m.payload)
		return
	}
	fmt.Fprintf(a.stdout, "%s\n", m.payload)
}

// outcome prints how the connection ended and returns the command's
// result, given why the reader stopped and the client-side failure, if any.
func (c *connectRun) outcome(end readEnd, failure error) error {
	a := c.a
	closedByClient := c.w.closeWasInitiated()
	switch {
	case end.closed && !closedByClient:
		line := fmt.Sprintf("Connection closed: %d", end.code)
		if end.reason != "" {
			line += " " + end.reason
		}
		normal := end.code == ws.StatusNormalClosure || end.code == ws.StatusGoingAway || end.code == ws.StatusNoStatusRcvd
		attrs := []color.Attribute{color.FgYellow}
		if !normal {
			attrs = []color.Attribute{color.FgRed, color.Bold}
		}
		fmt.Fprintln(a.stderr, styled(a.colorFor(a.stderr), attrs...).Sprint(line))
		if failure != nil {
			return failure
		}
		if !normal {
			return exitCode(1)
		}
		return nil
	case failure != nil:
		return failure
	case end.err != nil && !c.closedLocally.Load() && !(closedByClient && isConnectionEnd(end.err)):
		if isConnectionEnd(end.err) {
			return fmt.Errorf("connection to %s lost without a close frame (1006): %v", c.url, end.err)
		}
		return fmt.Errorf("read from %s: %w", c.url, end.err)
	case closedByClient && !end.closed && c.closedLocally.Load():
		fmt.Fprintf(a.stderr, "Warning: %s did not answer the close frame within %s; the connection was dropped.\n", c.url, c.closeTimeout)
	}
	return nil
}

// isConnectionEnd reports whether err means the network connection ended
// (the peer hung up, or it was closed) rather than a protocol mistake.
func isConnectionEnd(err error) bool {
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr)
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// inputLine is one line of stdin without its line ending, or the error
// that stopped reading it.
type inputLine struct {
	number int
	text   string
	err    error
}

// readLines reads r line by line in a goroutine and delivers the lines on
// the returned channel, which is closed at the end of r or after an error.
// The goroutine also ends when stop is closed, at its next line: a read
// from a terminal cannot be interrupted, so it may outlive the command
// until then (the process is exiting by that time).
func readLines(r io.Reader, stop <-chan struct{}) <-chan inputLine {
	lines := make(chan inputLine)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), connectMaxMessage)
		n := 0
		for sc.Scan() {
			n++
			select {
			case lines <- inputLine{number: n, text: strings.TrimSuffix(sc.Text(), "\r")}:
			case <-stop:
				return
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("line %d is longer than %d bytes", n+1, connectMaxMessage)
			}
			select {
			case lines <- inputLine{err: fmt.Errorf("read stdin: %w", err)}:
			case <-stop:
			}
		}
	}()
	return lines
}

// errCloseSent is returned by frameWriter.write after a close frame has
// been written: nothing may follow it (RFC 6455 §5.5.1).
var errCloseSent = errors.New("the close frame has been sent")

// frameWriter writes the client's frames, masked, one at a time: data and
// close frames from the exchange loop, pongs and close echoes from the
// reader.
type frameWriter struct {
	mu        sync.Mutex
	conn      net.Conn
	closeSent bool
	// initiated is set when the first close frame written was the client's
	// own rather than an echo of the server's.
	initiated bool
}

// write writes one unfragmented data frame or pong with the write
// deadline.
func (w *frameWriter) write(op ws.OpCode, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(op, p)
}

// writeClose writes a close frame with the given body; own says whether it
// starts the closing handshake rather than answering the server's.
func (w *frameWriter) writeClose(body []byte, own bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writeLocked(ws.OpClose, body); err != nil {
		return err
	}
	w.initiated = own
	return nil
}

// writeLocked writes one frame; w.mu is held.
func (w *frameWriter) writeLocked(op ws.OpCode, p []byte) error {
	if w.closeSent {
		return errCloseSent
	}
	if op == ws.OpClose {
		w.closeSent = true
	}
	if err := w.conn.SetWriteDeadline(time.Now().Add(connectWriteTimeout)); err != nil {
		return err
	}
	return wsutil.WriteClientMessage(w.conn, op, p)
}

// closeWasInitiated reports whether the client sent its close frame before
// receiving one from the server.
func (w *frameWriter) closeWasInitiated() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.initiated
}
