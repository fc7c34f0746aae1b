package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/gobwas/ws"
)

// wsConn is a raw WebSocket client connection: it writes any frame, valid or
// not, and reads frames one by one.
type wsConn struct {
	nc net.Conn
	br *bufio.Reader
}

// dialTimeout bounds a handshake of the suite's clients.
const dialTimeout = 10 * time.Second

// dialWS opens a WebSocket connection to the gateway at addr.
func dialWS(ctx context.Context, addr string) (*wsConn, error) {
	nc, br, _, err := ws.Dialer{Timeout: dialTimeout}.Dial(ctx, "ws://"+addr+stagePath)
	if err != nil {
		return nil, fmt.Errorf("dial the gateway: %w", err)
	}
	if br == nil {
		// Without bytes read ahead, Dial returns no reader; with, its reader
		// reads on from nc once they are consumed.
		br = bufio.NewReader(nc)
	}
	return &wsConn{nc: nc, br: br}, nil
}

// writeFrameHeader writes h, masked with a fresh key when h.Masked, and payload
// masked with it.
func (c *wsConn) writeFrameHeader(h ws.Header, payload []byte) error {
	p := payload
	if h.Masked {
		h.Mask = ws.NewMask()
		p = append([]byte(nil), payload...)
		ws.Cipher(p, h.Mask, 0)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(dialTimeout))
	if err := ws.WriteHeader(c.nc, h); err != nil {
		return fmt.Errorf("write a frame header: %w", err)
	}
	if _, err := c.nc.Write(p); err != nil {
		return fmt.Errorf("write a frame payload: %w", err)
	}
	return nil
}

// writeFrame writes one masked frame with the whole payload.
func (c *wsConn) writeFrame(op ws.OpCode, fin bool, payload []byte) error {
	return c.writeFrameHeader(ws.Header{Fin: fin, OpCode: op, Masked: true, Length: int64(len(payload))}, payload)
}

// sendText writes a text message in one frame.
func (c *wsConn) sendText(p []byte) error { return c.writeFrame(ws.OpText, true, p) }

// closeError is the close frame that ended a read.
type closeError struct {
	code   ws.StatusCode
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("close %d %q", e.code, e.reason) }

// readFrame reads one frame before deadline.
func (c *wsConn) readFrame(deadline time.Time) (ws.Header, []byte, error) {
	_ = c.nc.SetReadDeadline(deadline)
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return h, nil, err
	}
	if h.Length > 1<<20 {
		return h, nil, fmt.Errorf("the gateway sent a frame of %d bytes", h.Length)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return h, nil, err
	}
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	return h, p, nil
}

// readMessage reads the next data message before deadline, reassembling
// fragments and skipping pings and pongs; a close frame ends the read with
// a *closeError.
func (c *wsConn) readMessage(deadline time.Time) (ws.OpCode, []byte, error) {
	var (
		op  ws.OpCode
		msg []byte
	)
	for {
		h, p, err := c.readFrame(deadline)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case h.OpCode == ws.OpPong || h.OpCode == ws.OpPing:
			continue
		case h.OpCode == ws.OpClose:
			code, reason := ws.ParseCloseFrameData(p)
			return 0, nil, &closeError{code: code, reason: reason}
		case h.OpCode != ws.OpContinuation:
			op = h.OpCode
		}
		msg = append(msg, p...)
		if h.Fin {
			return op, msg, nil
		}
	}
}

// awaitClose reads until the gateway's close frame or the end of the TCP
// connection, skipping data, and returns what ended the connection:
// "close CODE", "tcp closed" (end of stream or reset without a close frame),
// or "still open" when nothing ended it before deadline. It answers a close
// frame with one and closes the socket.
func (c *wsConn) awaitClose(deadline time.Time) string {
	defer c.nc.Close()
	for {
		h, p, err := c.readFrame(deadline)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return "still open"
			}
			return "tcp closed"
		}
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			_ = c.writeFrame(ws.OpClose, true, ws.NewCloseFrameBody(code, ""))
			return fmt.Sprintf("close %d", code)
		}
	}
}

// Close drops the TCP connection.
func (c *wsConn) Close() error { return c.nc.Close() }
