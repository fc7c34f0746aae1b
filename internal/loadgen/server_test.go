package loadgen

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// testTimeout bounds every wait of a test.
const testTimeout = 10 * time.Second

// serverConn is one connection of a test server: frames are read with
// next and written with send, which may be called from other goroutines
// (the push endpoint).
type serverConn struct {
	nc  net.Conn
	br  *bufio.Reader
	hdr [ws.MaxHeaderSize]byte
	buf []byte

	mu   sync.Mutex
	bw   *bufio.Writer
	whdr [ws.MaxHeaderSize]byte
}

// next returns the next text message's payload (valid until the next
// call), answering pings; ok is false once the client has closed (its close
// frame is answered) or the connection has ended.
func (c *serverConn) next() (p []byte, ok bool) {
	for {
		h, err := ws.ReadHeaderBuffer(c.br, c.hdr[:])
		if err != nil {
			return nil, false
		}
		if cap(c.buf) < int(h.Length) {
			c.buf = make([]byte, h.Length)
		}
		p = c.buf[:h.Length]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return nil, false
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpClose:
			_ = c.sendOp(ws.OpClose, p[:min(2, len(p))], true)
			return nil, false
		case ws.OpPing:
			if c.sendOp(ws.OpPong, p, true) != nil {
				return nil, false
			}
		case ws.OpText, ws.OpBinary:
			return p, true
		}
	}
}

// send queues a text frame, flushing it when flush is set.
func (c *serverConn) send(p []byte, flush bool) error { return c.sendOp(ws.OpText, p, flush) }

func (c *serverConn) sendOp(op ws.OpCode, p []byte, flush bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ws.WriteHeaderBuffer(c.bw, ws.Header{Fin: true, OpCode: op, Length: int64(len(p))}, c.whdr[:]); err != nil {
		return err
	}
	if _, err := c.bw.Write(p); err != nil {
		return err
	}
	if flush {
		return c.bw.Flush()
	}
	return nil
}

// flushIfIdle flushes the queued frames when no more input is buffered:
// replies to a burst of messages leave in one write.
func (c *serverConn) flushIfIdle() error {
	if c.br.Buffered() > 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bw.Flush()
}

// closeWith sends a close frame with code.
func (c *serverConn) closeWith(code ws.StatusCode) {
	_ = c.sendOp(ws.OpClose, ws.NewCloseFrameBody(code, ""), true)
}

// testServer is a WebSocket server on 127.0.0.1 whose connections are
// served by handle. Other paths are served by mux when set.
type testServer struct {
	url string
	srv *httptest.Server
}

func startServer(t testing.TB, handle func(c *serverConn), mux *http.ServeMux) *testServer {
	t.Helper()
	var wg sync.WaitGroup
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mux != nil && strings.Contains(r.URL.Path, "@connections") {
			mux.ServeHTTP(w, r)
			return
		}
		nc, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer nc.Close()
		handle(&serverConn{nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc)})
	})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return &testServer{url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/dev", srv: srv}
}

// echo answers every message with itself.
func echo(c *serverConn) {
	for {
		p, ok := c.next()
		if !ok {
			return
		}
		if c.send(p, false) != nil || c.flushIfIdle() != nil {
			return
		}
	}
}
