package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// fhKey is the Sec-WebSocket-Key of RFC 6455's example, and fhAccept its
// Sec-WebSocket-Accept.
const (
	fhKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	fhAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// fhUpgrade returns a WebSocket opening handshake for target with extra
// header lines (each without its CRLF).
func fhUpgrade(target string, extra ...string) string {
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: gw.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + fhKey + "\r\nSec-WebSocket-Version: 13\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// fhSeeds are the seed inputs of FuzzHandshake: well-formed handshakes and
// the ways a client can get a request head wrong on purpose.
func fhSeeds() [][]byte {
	valid := fhUpgrade("/fz/test")
	manyHeaders := make([]string, 0, 64)
	for i := range 64 {
		manyHeaders = append(manyHeaders, "X-Header-"+strconv.Itoa(i)+": value "+strconv.Itoa(i))
	}
	text := maskedFrame(ws.OpText, true, []byte(`{"action":"x"}`))
	closeFrame := maskedFrame(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye"))
	seeds := []string{
		valid,
		fhUpgrade("/fz/test?name=a&b=%20c&empty=&x=1&x=2"),
		fhUpgrade("/fz/test", manyHeaders...),
		fhUpgrade("/fz/test", "x-api-key: k", "User-Agent: fuzz/1", "Origin: http://evil.example"),
		fhUpgrade("/fz/test", "Sec-WebSocket-Protocol: chat, superchat"),
		fhUpgrade("/fz/test", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"),
		// Truncated heads.
		valid[:len(valid)-2],
		valid[:len(valid)/2],
		"GET /fz/test HTTP/1.1\r\nHost",
		"GET",
		// Oversized heads and targets (RT-20 hardening: 431 and 414).
		fhUpgrade("/fz/test", "X-Big: "+strings.Repeat("a", 20000)),
		fhUpgrade("/fz/test?" + strings.Repeat("q", 5000)),
		fhUpgrade("/" + strings.Repeat("a/", 3000)),
		// Bad versions and keys.
		strings.Replace(valid, "Version: 13", "Version: 8", 1),
		strings.Replace(valid, "HTTP/1.1", "HTTP/1.0", 1),
		strings.Replace(valid, "HTTP/1.1", "HTTP/2.0", 1),
		strings.Replace(valid, "HTTP/1.1", "HTTP/1.1x", 1),
		strings.Replace(valid, "HTTP/1.1", "HTTP/9999999999999999999.1", 1),
		strings.Replace(valid, fhKey, "short", 1),
		strings.Replace(valid, fhKey, "", 1),
		fhUpgrade("/fz/test", "Sec-WebSocket-Key: "+fhKey),
		strings.Replace(valid, "Upgrade: websocket", "Upgrade: h2c", 1),
		strings.Replace(valid, "GET", "POST", 1),
		// Frames pipelined after the head, well-formed and not.
		valid + string(text) + string(maskedFrame(ws.OpPing, true, []byte("p"))) + string(closeFrame),
		valid + string(text) + string(text),
		valid + string(rawHeader(0x80|byte(ws.OpText), 1<<40)),
		valid + "\x81\x05hello",
		valid + valid,
		// @connections requests.
		"POST /test/@connections/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"GET /fz/test/@connections/abc HTTP/1.1\r\nHost: x\r\n\r\n",
		"DELETE /fz/test/%40connections/abc HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /test/@connections/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nhello",
		"POST /test/@connections/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\nhello",
		"POST /test/@connections/abc HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"POST /test/@connections/abc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
		// Absurd Content-Length on a stage URL.
		"GET /fz/test HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000\r\n\r\nabc",
		strings.Replace(valid, "\r\n\r\n", "\r\nContent-Length: 1000000000000000\r\n\r\n", 1),
		// Request smuggling shapes.
		"POST /fz/test HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + valid,
		"POST /fz/test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n0\r\n\r\n" + valid,
		"POST /fz/test HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 60\r\n\r\nhello" + valid,
		"POST /fz/test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
		"POST /fz/test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n",
		"POST /fz/test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
		"POST /fz/test HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
		"GET /fz/test HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n Connection: Upgrade\r\n\r\n",
		"GET /fz/test HTTP/1.1\r\nHost: x\r\nUpgrade : websocket\r\n\r\n",
		"GET /fz/test HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: Upgrade\n\n",
		"GET /fz/test HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET http://other.example/fz/test HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT gw.example:443 HTTP/1.1\r\nHost: gw.example:443\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /fz/test HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
		// Not HTTP at all.
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"SSH-2.0-OpenSSH_9.0\r\n",
		"\r\n\r\n\r\n\r\n",
		"\x00\x00\x00\x00\xff\xfe\xfd",
		"GET /fz/test HTTP/1.1\r\nHost: \x00\x7f\r\n\r\n",
		"",
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = []byte(s)
	}
	return out
}

// FuzzHandshake feeds arbitrary bytes as the first bytes of a TCP
// connection to a real Server (RT-1, RT-10, RT-20, issue 6's hardening),
// then ends the client's side. The server must answer and close without a
// panic, within the handshake timeout; afterwards it must still complete a
// well-formed handshake and route a message on it; and no goroutine of the
// exchange may be left. One server serves every input.
func FuzzHandshake(f *testing.F) {
	for _, s := range fhSeeds() {
		f.Add(s)
	}
	api := &model.API{
		Name:   "fz",
		Routes: []*model.Route{{Key: "$connect"}, {Key: "$default", TwoWay: true}},
	}
	st := newState(f, api)
	startIgnore := goleak.IgnoreCurrent()
	srv := NewServer(Options{
		HandshakeTimeout: 2 * time.Second,
		CloseTimeout:     100 * time.Millisecond,
		// Every input comes from 127.0.0.1.
		NewConnectionsPerIP: 1 << 30,
	})
	if err := srv.Load(st); err != nil {
		f.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			f.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			f.Errorf("Serve: %v", err)
		}
		goleak.VerifyNone(f, startIgnore)
	})
	addr := ln.Addr().String()

	f.Fuzz(func(t *testing.T, input []byte) {
		ignore := goleak.IgnoreCurrent()
		fhExchange(t, addr, input)
		fhCheckServes(t, addr)
		// net/http lingers for a fixed half second after answering a
		// request whose body it did not read, so that the client sees the
		// answer before a reset; that goroutine is bounded and is checked by
		// the leak check after Shutdown instead.
		if err := goleak.Find(ignore, goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait")); err != nil {
			t.Fatalf("goroutines left after the exchange: %v", err)
		}
	})
}

// fhExchange writes input on a new connection to addr, half-closes it and
// reads whatever the server answers until it closes the connection. The
// server must close it within testTimeout.
func fhExchange(t *testing.T, addr string, input []byte) {
	t.Helper()
	client, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial the gateway: %v", err)
	}
	defer client.Close()
	_ = client.SetDeadline(time.Now().Add(testTimeout))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		// The server may close before it has read everything: a write
		// error is expected then.
		_, _ = client.Write(input)
		_ = client.(*net.TCPConn).CloseWrite()
	}()
	_, readErr := io.Copy(io.Discard, client)
	<-wrote
	var ne net.Error
	if errors.As(readErr, &ne) && ne.Timeout() {
		t.Fatalf("RT-15: the gateway did not end the connection within %s of the client's end of input", testTimeout)
	}
}

// fhCheckServes completes a well-formed handshake on a new connection,
// sends one message and expects the gateway's answer to it (the stage's
// $default route has no integration: an error frame), then closes.
func fhCheckServes(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial the gateway: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	msg := maskedFrame(ws.OpText, true, []byte(`{"action":"x"}`))
	if _, err := io.WriteString(c, fhUpgrade("/fz/test")); err != nil {
		t.Fatalf("write the handshake: %v", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("RT-10: the gateway no longer answers a well-formed handshake: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != fhAccept {
		t.Fatalf("RT-10: a well-formed handshake got %s (accept %q)", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write a message: %v", err)
	}
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatalf("RT-22: no answer to a message after the handshake: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	if h.OpCode != ws.OpText || !bytes.HasPrefix(p, []byte(`{"message": "Internal server error"`)) {
		t.Fatalf("RT-22: the answer to a message on a route without integration is %v %q", h.OpCode, p)
	}
	// The client ends the connection; the gateway's side then ends too,
	// which the caller's leak check waits for.
	_ = c.(*net.TCPConn).CloseWrite()
	_, _ = io.Copy(io.Discard, br)
}
