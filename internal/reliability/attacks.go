package reliability

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// env is what attackers need to reach the gateway.
type env struct {
	addr string
	cfg  Config
	// http makes @connections calls.
	http *http.Client
}

// attack is a fault kind and how to commit it. run makes attempts until
// ctx ends or its connection does, recording one outcome per attempt; the
// attacker calls it again, after a pause, until ctx ends. An attempt that
// has started is finished (each is bounded in time), so that every attempt
// counted has an observed outcome.
type attack struct {
	fault *Fault
	run   func(ctx context.Context, e *env, f *Fault, n int)
}

// Outcomes the gateway should produce.
const (
	outErrorFrame   = "Internal server error frame"
	outClose1002    = "close 1002"
	outClose1003    = "close 1003"
	outClose1007    = "close 1007"
	outClose1008    = "close 1008"
	outClose1009    = "close 1009"
	outTCPClosed    = "tcp closed"
	outCutOff       = "cut off by the handshake timeout"
	outCutOffLate   = "cut off late (> timeout + 1 s)"
	outAccepted     = "101, echoed"
	outEchoed       = "echoed"
	outThrottled    = "Too Many Requests frame"
	outLost         = "no reply (lost)"
	outConnLost     = "connection lost"
	outPushRefused  = "POST 410 Gone"
	outHTTP414      = "HTTP 414"
	outHTTP431      = "HTTP 431"
	attemptDeadline = 10 * time.Second
)

// timed lists the fault kinds whose expected outcome depends on timing (see
// Fault.Timed).
var timed = map[string]bool{
	"stall-replies":  true,
	"stall-pushes":   true,
	"slowloris":      true,
	"slow-handshake": true,
}

// attacks returns every fault kind of the suite with its attack.
func attacks() []attack {
	var out []attack
	add := func(kind, description string, expected []string, run func(context.Context, *env, *Fault, int)) {
		out = append(out, attack{fault: &Fault{Kind: kind, Description: description, Expected: expected, Timed: timed[kind]}, run: run})
	}
	backend := map[string]string{
		"down":                "message to a route whose backend port is closed",
		"slow":                "message to a backend that answers after 2 s (timeout_ms 200)",
		"reset":               "message to a backend that resets the TCP connection",
		"garbage-json":        "message to a Lambda answering truncated JSON",
		"garbage-content":     "message to a Lambda answering an HTML page",
		"garbage-huge-body":   "message to a Lambda streaming a 50 MB result slowly",
		"garbage-huge-length": "message to a backend declaring Content-Length 50 GiB, then stalling",
	}
	for _, r := range faultRoutes {
		add("backend-"+r.key, backend[r.key], []string{outErrorFrame}, backendFault(r.key))
	}
	add("stall-replies", "client asks for a 30 KB two-way reply every ms and never reads", []string{outClose1008, outTCPClosed}, stallReplies)
	add("stall-pushes", "client never reads while @connections POSTs it 128 KiB every ms", []string{outPushRefused + ", then " + outTCPClosed, outPushRefused + ", then " + outClose1008}, stallPushes)
	add("slowloris", "handshake sent one byte every 20 ms, never finished", []string{outCutOff}, slowloris)
	add("slow-handshake", "valid handshake sent one byte per TCP segment, then a message", []string{outAccepted}, slowHandshake)
	add("oversize-handshake", "24 KiB of headers (net/http allows MaxHeaderBytes + 4 KiB), or a 5000-byte URL", []string{outHTTP431, outHTTP414}, oversizeHandshake)
	add("oversize-frame", "a 40000-byte frame, or a header declaring 1 TiB", []string{outClose1009}, oversizeFrame)
	add("oversize-message", "five 32 KiB fragments (160 KiB message)", []string{outClose1009}, oversizeMessage)
	add("invalid-utf8", "text message or close reason that is not UTF-8", []string{outClose1007}, invalidUTF8)
	add("binary-frame", "a binary message", []string{outClose1003}, binaryFrame)
	add("protocol-violation", "unmasked, RSV, reserved opcode, bad control or continuation, bad close frames", []string{outClose1002}, protocolViolation)
	add("flood", "bursts of 100 messages (and pings) every 20 ms to a route throttled at 500/s, burst 100", []string{outEchoed, outThrottled}, flood)
	add("churn", "connect, one message, then close, drop, or drop mid-frame", []string{outAccepted}, churn)
	return out
}

// runAttacker commits a until ctx ends.
func runAttacker(ctx context.Context, e *env, a attack) {
	pause := time.NewTimer(0)
	defer pause.Stop()
	<-pause.C
	for n := 0; ctx.Err() == nil; n++ {
		a.run(ctx, e, a.fault, n)
		pause.Reset(e.cfg.AttackPause)
		select {
		case <-ctx.Done():
			return
		case <-pause.C:
		}
	}
}

// handshakeFailed describes a failed dial: the HTTP status that refused it,
// or the network error.
func handshakeFailed(err error) string {
	var se ws.StatusError
	if errors.As(err, &se) {
		return "handshake refused: HTTP " + strconv.Itoa(int(se))
	}
	return "handshake failed: " + errors.Unwrap(err).Error()
}

// describeErr turns the error that ended an attempt into an outcome.
func describeErr(what string, err error) string {
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("%s: close %d", what, ce.code)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return what + ": timed out"
	}
	return what
}

// backendFault sends messages routed to the faulty backend key, one at a
// time, on one connection; each must be answered with an error frame and
// the connection must stay open (RT-22).
func backendFault(key string) func(context.Context, *env, *Fault, int) {
	msg := []byte(`{"action":"` + key + `"}`)
	want := []byte(`{"message": "Internal server error", "connectionId":"`)
	return func(ctx context.Context, e *env, f *Fault, _ int) {
		c, err := dialWS(context.WithoutCancel(ctx), e.addr)
		if err != nil {
			f.record(handshakeFailed(err))
			return
		}
		defer c.Close()
		pause := time.NewTimer(0)
		defer pause.Stop()
		<-pause.C
		for ctx.Err() == nil {
			if err := c.sendText(msg); err != nil {
				f.record(outConnLost)
				return
			}
			_, reply, err := c.readMessage(time.Now().Add(attemptDeadline))
			switch {
			case err != nil:
				f.record(describeErr(outConnLost, err))
				return
			case bytes.HasPrefix(reply, want):
				f.record(outErrorFrame)
			default:
				f.record("other reply")
			}
			pause.Reset(e.cfg.AttackPause)
			select {
			case <-ctx.Done():
			case <-pause.C:
			}
		}
		_ = c.writeFrame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
		c.awaitClose(time.Now().Add(attemptDeadline))
	}
}

// A stalled reader provokes a 30 KB write every stallEvery (30 MB/s), for at
// most stallBudget.
const (
	stallEvery  = time.Millisecond
	stallBudget = 5 * time.Second
)

// pushBytes is the size of the @connections posts to a stalled reader: the
// largest the API accepts (RT-2), so that few posts fill its buffers.
const pushBytes = 128 << 10

// stallReplies asks for large two-way replies without ever reading: the
// gateway must disconnect it as a slow consumer (RT-26).
func stallReplies(ctx context.Context, e *env, f *Fault, _ int) {
	c, err := dialWS(context.WithoutCancel(ctx), e.addr)
	if err != nil {
		f.record(handshakeFailed(err))
		return
	}
	msg := []byte(`{"action":"` + routeBig + `"}`)
	end := time.Now().Add(stallBudget)
	tick := time.NewTicker(stallEvery)
	defer tick.Stop()
	for time.Now().Before(end) {
		if err := c.sendText(msg); err != nil {
			break // the gateway dropped the connection
		}
		<-tick.C
	}
	f.record(c.awaitClose(time.Now().Add(WriteTimeout + CloseTimeout + attemptDeadline)))
}

// stallPushes learns its connection id, then stops reading while the
// @connections API posts to it: the gateway must disconnect it, after which
// posts get 410 (RT-26, RT-2).
func stallPushes(ctx context.Context, e *env, f *Fault, _ int) {
	c, err := dialWS(context.WithoutCancel(ctx), e.addr)
	if err != nil {
		f.record(handshakeFailed(err))
		return
	}
	if err := c.sendText([]byte(`{"action":"` + routeWhoami + `"}`)); err != nil {
		f.record(outConnLost)
		_ = c.Close()
		return
	}
	_, id, err := c.readMessage(time.Now().Add(attemptDeadline))
	if err != nil {
		f.record(describeErr("whoami failed", err))
		_ = c.Close()
		return
	}
	target := "http://" + e.addr + stagePath + "/@connections/" + url.PathEscape(string(id))
	body := bytes.Repeat([]byte("p"), pushBytes)
	status := 0
	end := time.Now().Add(stallBudget)
	tick := time.NewTicker(stallEvery)
	defer tick.Stop()
	for time.Now().Before(end) {
		resp, err := e.http.Post(target, "application/json", bytes.NewReader(body))
		if err != nil {
			status = -1
			break
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if status = resp.StatusCode; status != http.StatusOK {
			break
		}
		<-tick.C
	}
	closed := c.awaitClose(time.Now().Add(WriteTimeout + CloseTimeout + attemptDeadline))
	switch status {
	case http.StatusGone:
		f.record(outPushRefused + ", then " + closed)
	case http.StatusOK:
		f.record("still accepted after " + stallBudget.String() + ", then " + closed)
	default:
		f.record("POST " + strconv.Itoa(status) + ", then " + closed)
	}
}

// paceRead waits up to d for the server to send something or close the
// connection, and reports whether it did. It paces byte-by-byte writers
// without sleeping blind: the server's reaction ends the wait at once.
func paceRead(nc net.Conn, d time.Duration) bool {
	var b [1]byte
	_ = nc.SetReadDeadline(time.Now().Add(d))
	_, err := nc.Read(b[:])
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// slowloris sends a handshake one byte every 20 ms and never finishes it:
// the gateway must drop it once HandshakeTimeout has passed (RT-15).
func slowloris(ctx context.Context, e *env, f *Fault, _ int) {
	nc, err := net.DialTimeout("tcp", e.addr, dialTimeout)
	if err != nil {
		f.record("dial failed")
		return
	}
	defer nc.Close()
	start := time.Now()
	head := "GET " + stagePath + " HTTP/1.1\r\nHost: " + e.addr + "\r\n"
	for i := 0; ; i++ {
		if time.Since(start) > HandshakeTimeout+attemptDeadline {
			f.record("not cut off")
			return
		}
		var b byte
		if i < len(head) {
			b = head[i]
		} else {
			b = "X-Slow: loris\r\n"[(i-len(head))%15]
		}
		if _, err := nc.Write([]byte{b}); err != nil {
			break
		}
		if paceRead(nc, 20*time.Millisecond) {
			break
		}
	}
	if time.Since(start) <= HandshakeTimeout+time.Second {
		f.record(outCutOff)
	} else {
		f.record(outCutOffLate)
	}
}

// upgradeRequest returns a valid opening handshake for the suite's stage,
// with extra header lines.
func upgradeRequest(host, target, extra string) []byte {
	var key [16]byte
	_, _ = rand.Read(key[:])
	return []byte("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" + extra + "\r\n")
}

// slowHandshake sends a valid handshake one byte per TCP segment, with
// pauses, well within HandshakeTimeout: it must be accepted and served.
func slowHandshake(_ context.Context, e *env, f *Fault, _ int) {
	nc, err := net.DialTimeout("tcp", e.addr, dialTimeout)
	if err != nil {
		f.record("dial failed")
		return
	}
	defer nc.Close()
	req := upgradeRequest(e.addr, stagePath, "")
	start := time.Now()
	for i := range req {
		// Each byte is its own TCP segment (Go sets TCP_NODELAY); every
		// eighth waits a millisecond, so the whole request takes some 25 ms
		// of pauses, far below HandshakeTimeout even on a loaded machine.
		if _, err := nc.Write(req[i : i+1]); err != nil {
			f.record("dropped while sending after " + time.Since(start).Round(time.Millisecond).String())
			return
		}
		if i%8 == 7 && i < len(req)-1 && paceRead(nc, time.Millisecond) {
			f.record("answered before the handshake ended, after " + time.Since(start).Round(time.Millisecond).String())
			return
		}
	}
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(attemptDeadline))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		f.record("no handshake response")
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		f.record("HTTP " + strconv.Itoa(resp.StatusCode))
		return
	}
	f.record(echoAndLeave(&wsConn{nc: nc, br: br}, 0))
}

// echoAndLeave sends one message, checks its echo and leaves the way
// variant picks: 0 a close handshake, 1 dropping the TCP connection, 2
// dropping it in the middle of a frame.
func echoAndLeave(c *wsConn, variant int) string {
	defer c.Close()
	msg := []byte(`{"hello":"` + strconv.Itoa(variant) + `"}`)
	if err := c.sendText(msg); err != nil {
		return outConnLost
	}
	_, reply, err := c.readMessage(time.Now().Add(attemptDeadline))
	if err != nil {
		return describeErr("no echo", err)
	}
	if !bytes.Equal(reply, msg) {
		return "wrong echo"
	}
	switch variant % 3 {
	case 0:
		if err := c.writeFrame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")); err != nil {
			return outConnLost
		}
		if got := c.awaitClose(time.Now().Add(attemptDeadline)); got != "close 1000" {
			return "close answered with " + got
		}
	case 2:
		h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: ws.NewMask(), Length: 100}
		_ = ws.WriteHeader(c.nc, h)
		_, _ = c.nc.Write([]byte("half"))
	}
	return outAccepted
}

// churn connects, exchanges one message and leaves, over and over.
func churn(ctx context.Context, e *env, f *Fault, n int) {
	c, err := dialWS(context.WithoutCancel(ctx), e.addr)
	if err != nil {
		f.record(handshakeFailed(err))
		return
	}
	f.record(echoAndLeave(c, n))
}

// oversizeHandshake sends a handshake whose headers exceed the gateway's
// MaxHeaderBytes (16 KiB, answered 431) or whose URL exceeds MaxURLLength
// (4096, answered 414).
func oversizeHandshake(_ context.Context, e *env, f *Fault, n int) {
	nc, err := net.DialTimeout("tcp", e.addr, dialTimeout)
	if err != nil {
		f.record("dial failed")
		return
	}
	defer nc.Close()
	var req []byte
	if n%2 == 0 {
		req = upgradeRequest(e.addr, stagePath, "X-Big: "+strings.Repeat("h", 24<<10)+"\r\n")
	} else {
		req = upgradeRequest(e.addr, stagePath+"?q="+strings.Repeat("u", 5000), "")
	}
	_ = nc.SetDeadline(time.Now().Add(attemptDeadline))
	if _, err := nc.Write(req); err != nil {
		f.record("dropped while sending")
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		f.record("no response")
		return
	}
	_ = resp.Body.Close()
	f.record("HTTP " + strconv.Itoa(resp.StatusCode))
}

// frameAttack opens a connection, lets send misbehave on it, and records
// how the gateway closed it.
func frameAttack(ctx context.Context, e *env, f *Fault, send func(c *wsConn) error) {
	c, err := dialWS(context.WithoutCancel(ctx), e.addr)
	if err != nil {
		f.record(handshakeFailed(err))
		return
	}
	// A write may fail when the gateway closes before everything was
	// written; what it closed with is still waiting to be read.
	_ = send(c)
	f.record(c.awaitClose(time.Now().Add(attemptDeadline)))
}

// oversizeFrame sends a frame over MaxFrameSize: whole, or only a header
// that declares 1 TiB (RT-20: 1009).
func oversizeFrame(ctx context.Context, e *env, f *Fault, n int) {
	frameAttack(ctx, e, f, func(c *wsConn) error {
		if n%2 == 0 {
			return c.sendText(bytes.Repeat([]byte("o"), 40000))
		}
		h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: ws.NewMask(), Length: 1 << 40}
		return ws.WriteHeader(c.nc, h)
	})
}

// oversizeMessage sends five fragments of 32 KiB: each frame is allowed,
// the message is not (RT-20: 1009).
func oversizeMessage(ctx context.Context, e *env, f *Fault, _ int) {
	frameAttack(ctx, e, f, func(c *wsConn) error {
		p := bytes.Repeat([]byte("m"), 32<<10)
		for i := range 5 {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpText
			}
			if err := c.writeFrame(op, i == 4, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// invalidUTF8 sends text that is not UTF-8: in one frame, split over
// fragments, or as a close reason (RT-20: 1007).
func invalidUTF8(ctx context.Context, e *env, f *Fault, n int) {
	frameAttack(ctx, e, f, func(c *wsConn) error {
		switch n % 3 {
		case 0:
			return c.sendText([]byte("caf\xc3\x28 \xff\xfe"))
		case 1:
			if err := c.writeFrame(ws.OpText, false, []byte(`{"a":"ok`)); err != nil {
				return err
			}
			return c.writeFrame(ws.OpContinuation, true, []byte("\xed\xa0\x80\"}"))
		default:
			return c.writeFrame(ws.OpClose, true, append(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""), 0xff, 0xfe))
		}
	})
}

// binaryFrame sends a binary message (RT-20: 1003).
func binaryFrame(ctx context.Context, e *env, f *Fault, _ int) {
	frameAttack(ctx, e, f, func(c *wsConn) error {
		return c.writeFrame(ws.OpBinary, true, []byte{0, 1, 2, 3})
	})
}

// violations are the protocol errors of D-37, one per attempt in turn.
var violations = []func(c *wsConn) error{
	func(c *wsConn) error { // unmasked client frame
		return c.writeFrameHeader(ws.Header{Fin: true, OpCode: ws.OpText, Length: 2}, []byte("hi"))
	},
	func(c *wsConn) error { // RSV1 without an extension
		return c.writeFrameHeader(ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpText, Masked: true, Length: 2}, []byte("hi"))
	},
	func(c *wsConn) error { return c.writeFrame(ws.OpCode(0x3), true, []byte("x")) }, // reserved data opcode
	func(c *wsConn) error { return c.writeFrame(ws.OpCode(0xB), true, nil) },         // reserved control opcode
	func(c *wsConn) error { return c.writeFrame(ws.OpPing, false, []byte("frag")) },  // fragmented control frame
	func(c *wsConn) error { return c.writeFrame(ws.OpPing, true, bytes.Repeat([]byte("p"), 126)) },
	func(c *wsConn) error { return c.writeFrame(ws.OpContinuation, true, []byte("orphan")) },
	func(c *wsConn) error { // a new data frame inside a fragmented message
		if err := c.writeFrame(ws.OpText, false, []byte("one")); err != nil {
			return err
		}
		return c.writeFrame(ws.OpText, true, []byte("two"))
	},
	func(c *wsConn) error { return c.writeFrame(ws.OpClose, true, []byte{0x03}) }, // one-byte close payload
	func(c *wsConn) error { // a close code clients must not send
		return c.writeFrame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNoStatusRcvd, ""))
	},
}

// protocolViolation commits the protocol errors of D-37 in turn (1002).
func protocolViolation(ctx context.Context, e *env, f *Fault, n int) {
	frameAttack(ctx, e, f, violations[n%len(violations)])
}

// flood sends bursts of floodBurstMessages messages, with a ping every 50,
// to the throttled flood route, at most one burst every floodEvery, reading
// concurrently: every message must be answered exactly once, echoed or
// refused as throttled (RT-25). A flooder sends up to 5000 messages per
// second, ten times the route's rate.
func flood(ctx context.Context, e *env, f *Fault, n int) {
	c, err := dialWS(context.WithoutCancel(ctx), e.addr)
	if err != nil {
		f.record(handshakeFailed(err))
		return
	}
	defer c.Close()
	tick := time.NewTicker(floodEvery)
	defer tick.Stop()
	for burst := 0; ctx.Err() == nil; burst++ {
		if !floodBurst1(c, f, n, burst) {
			return
		}
		<-tick.C
	}
	_ = c.writeFrame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	c.awaitClose(time.Now().Add(attemptDeadline))
}

// floodBurst1 sends one burst and reads its answers; it reports whether the
// connection is still usable.
func floodBurst1(c *wsConn, f *Fault, n, burst int) bool {
	outstanding := make(map[string]bool, floodBurstMessages)
	msgs := make([][]byte, floodBurstMessages)
	for i := range msgs {
		msgs[i] = []byte(`{"action":"` + routeFlood + `","attacker":` + strconv.Itoa(n) + `,"burst":` + strconv.Itoa(burst) + `,"n":` + strconv.Itoa(i) + `}`)
		outstanding[string(msgs[i])] = true
	}
	var written atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, m := range msgs {
			if i%50 == 0 {
				if c.writeFrame(ws.OpPing, true, []byte("flood")) != nil {
					return
				}
			}
			if c.sendText(m) != nil {
				return
			}
			written.Add(1)
		}
	}()
	throttled := []byte(`{"message": "Too Many Requests", "connectionId":"`)
	answered := 0
	var readErr error
	for answered < len(msgs) {
		_, reply, err := c.readMessage(time.Now().Add(attemptDeadline))
		if err != nil {
			readErr = err
			break
		}
		answered++
		switch {
		case bytes.HasPrefix(reply, throttled):
			f.record(outThrottled)
		case outstanding[string(reply)]:
			delete(outstanding, string(reply))
			f.record(outEchoed)
		default:
			f.record("unexpected reply")
		}
	}
	wg.Wait()
	if readErr != nil {
		// Every message written and not answered is lost.
		for range int(written.Load()) - answered {
			f.record(describeErr(outLost, readErr))
		}
		return false
	}
	return true
}
