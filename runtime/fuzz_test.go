package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// maskedFrame returns the bytes of one client frame with a fixed mask.
func maskedFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	var b bytes.Buffer
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	f.Header.Masked = true
	f.Header.Mask = [4]byte{1, 2, 3, 4}
	ws.Cipher(f.Payload, f.Header.Mask, 0)
	_ = ws.WriteFrame(&b, f)
	return b.Bytes()
}

// rawHeader returns a masked frame header claiming length bytes, with
// nothing after it but the mask.
func rawHeader(first byte, length uint64) []byte {
	b := []byte{first}
	switch {
	case length < 126:
		b = append(b, 0x80|byte(length))
	case length <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, length)
	}
	return append(b, 1, 2, 3, 4)
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// FuzzFrames feeds arbitrary bytes to an accepted connection's read loop,
// with the real limits (RT-20, D-37), over a loopback TCP connection, then
// ends the client's side. The connection must end without a panic, its
// output must be well-formed server frames with nothing after a close
// frame, a close the gateway started must carry one of D-34's codes, the
// connection must leave the registry with a recorded status, and no
// goroutine may be left once the server has shut down.
func FuzzFrames(f *testing.F) {
	text := maskedFrame(ws.OpText, true, []byte(`{"action":"x"}`))
	f.Add(text)
	f.Add(concat(text, text, maskedFrame(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye"))))
	f.Add(maskedFrame(ws.OpPing, true, []byte("hi")))
	f.Add(concat(maskedFrame(ws.OpText, false, []byte("he")), maskedFrame(ws.OpPing, true, nil), maskedFrame(ws.OpContinuation, true, []byte("llo"))))
	f.Add(maskedFrame(ws.OpContinuation, true, []byte("orphan")))
	f.Add(concat(maskedFrame(ws.OpText, false, []byte("a")), maskedFrame(ws.OpText, true, []byte("b"))))
	f.Add(maskedFrame(ws.OpBinary, true, []byte{0, 1, 2}))
	f.Add(maskedFrame(ws.OpText, true, []byte{0xff, 0xfe}))
	f.Add(maskedFrame(ws.OpClose, true, []byte{3}))
	f.Add(maskedFrame(ws.OpClose, true, ws.NewCloseFrameBody(1005, "")))
	f.Add(maskedFrame(ws.OpClose, true, []byte{0x03, 0xe8, 0xff}))
	f.Add(maskedFrame(ws.OpClose, true, nil))
	f.Add(maskedFrame(ws.OpPing, false, nil))
	f.Add(maskedFrame(ws.OpPing, true, bytes.Repeat([]byte("p"), 126)))
	f.Add(rawHeader(0x80|byte(ws.OpText), MaxFrameSize+1))
	f.Add(rawHeader(0x80|byte(ws.OpText), 1<<40))
	f.Add(rawHeader(0x80|byte(ws.OpText), 1<<63))
	f.Add([]byte{0x80 | 0x3, 0x80, 1, 2, 3, 4})
	f.Add([]byte{0x80 | 0x1 | 0x40, 0x80, 1, 2, 3, 4})
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x81, 0xfe, 0x00, 0x05, 1, 2, 3, 4, 'a'})
	big := bytes.Repeat([]byte("x"), MaxFrameSize)
	f.Add(concat(
		maskedFrame(ws.OpText, false, big), maskedFrame(ws.OpContinuation, false, big),
		maskedFrame(ws.OpContinuation, false, big), maskedFrame(ws.OpContinuation, false, big),
		maskedFrame(ws.OpContinuation, true, []byte("x"))))
	f.Add([]byte{})

	api := &model.API{
		Name:   "fuzz",
		Routes: []*model.Route{{Key: "$default", TwoWay: true}},
	}
	st := newState(f, api)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = ln.Close() })

	f.Fuzz(func(t *testing.T, input []byte) {
		ignore := goleak.IgnoreCurrent()
		srv := NewServer(Options{CloseTimeout: 100 * time.Millisecond})
		if err := srv.Load(st); err != nil {
			t.Fatal(err)
		}
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		_ = client.SetDeadline(time.Now().Add(testTimeout))

		c := &conn{
			s:           srv,
			id:          NewID(0),
			key:         stageKey{"fuzz", "test"},
			nc:          nc,
			rd:          nc,
			connectedAt: time.Now(),
			inflight:    make(chan struct{}, srv.opts.MaxInflight),
		}
		c.touch()
		srv.conns.add(c)
		srv.wg.Add(1)
		go c.serve()

		// The client writes the input, then ends its side; the server's
		// frames are read until it closes the connection.
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = client.Write(input)
			_ = client.(*net.TCPConn).CloseWrite()
		}()
		output, readErr := io.ReadAll(client)
		<-wrote
		var ne net.Error
		if errors.As(readErr, &ne) && ne.Timeout() {
			t.Fatalf("RT-20: the gateway did not end the connection within %s", testTimeout)
		}

		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown after the connection ended: %v", err)
		}

		c.mu.Lock()
		connState, status, hasStatus, initiated := c.state, c.status, c.hasStatus, c.initiated
		c.mu.Unlock()
		if connState != stateClosed || !hasStatus {
			t.Fatalf("RT-13: connection ended in state %d with status recorded %v", connState, hasStatus)
		}
		if n := srv.conns.registered(); n != 0 {
			t.Fatalf("the registry still holds %d connections", n)
		}
		checkServerFrames(t, output, initiated, status)
		if err := goleak.Find(ignore); err != nil {
			t.Fatalf("goroutines left: %v", err)
		}
	})
}

// gatewayCloseCodes are the codes the gateway closes with on its own
// (D-34), other than shutdown and DELETE, which a read loop never causes.
var gatewayCloseCodes = map[ws.StatusCode]string{
	1002: "Protocol error",
	1003: "Unsupported data",
	1007: "Invalid frame payload data",
	1008: "Slow consumer",
	1009: "Message too big",
}

// checkServerFrames parses what the gateway wrote: unmasked frames, data
// frames within MaxFrameSize, nothing after a close frame, and a close the
// gateway started carrying a D-34 code and reason that $disconnect reports
// too. A frame cut short at the end is allowed: the socket may have been
// reset under it.
func checkServerFrames(t *testing.T, output []byte, initiated bool, status closeStatus) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(output))
	closed := false
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return
		}
		if closed {
			t.Fatalf("D-34: the gateway sent a %v frame after its close frame", h.OpCode)
		}
		if h.Masked || h.Rsv != 0 || h.OpCode.IsReserved() || h.Length > MaxFrameSize {
			t.Fatalf("RT-20: malformed server frame header %+v", h)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		if h.OpCode != ws.OpClose {
			continue
		}
		closed = true
		code, reason := ws.ParseCloseFrameData(p)
		if !initiated {
			continue
		}
		if want, ok := gatewayCloseCodes[code]; !ok || reason != want {
			t.Fatalf("D-34: the gateway closed with %d %q", code, reason)
		}
		if status.code != code || status.reason != reason {
			t.Fatalf("RT-13: closed with %d %q but $disconnect would report %d %q", code, reason, status.code, status.reason)
		}
	}
}
