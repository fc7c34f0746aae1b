package runtime

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/runtime/apikey"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
	"github.com/wsgwctl/wsgwctl/runtime/observe"
)

// closeStatus is a close code and reason the gateway sends, and that
// $disconnect reports (D-34).
type closeStatus struct {
	code   ws.StatusCode
	reason string
}

var (
	closeDeleted        = closeStatus{1000, "Connection Closed Normally"}
	closeGoingAway      = closeStatus{1001, "Going away"}
	closeProtocolError  = closeStatus{1002, "Protocol error"}
	closeUnsupported    = closeStatus{1003, "Unsupported data"}
	closeInvalidPayload = closeStatus{1007, "Invalid frame payload data"}
	closeSlowConsumer   = closeStatus{1008, "Slow consumer"}
	closeTooBig         = closeStatus{1009, "Message too big"}
	// closeNoStatus is what $disconnect reports for a client close frame
	// without a code (RT-13).
	closeNoStatus = closeStatus{1005, "Client-side close frame status not set"}
	// closeAbnormal is what $disconnect reports when the TCP connection ended
	// without a close frame (D-34).
	closeAbnormal = closeStatus{1006, ""}
)

// Connection states.
const (
	stateOpen    = iota
	stateClosing // a close frame is queued or sent; no more data is sent
	stateClosed  // the socket is closed
)

// outFrame is a frame waiting in a connection's send queue. Data messages
// larger than MaxFrameSize are fragmented when written.
type outFrame struct {
	op      ws.OpCode
	payload []byte
}

// conn is one accepted WebSocket connection.
//
// One goroutine (serve) reads frames and owns the connection's lifetime.
// Writes go through a bounded queue drained by a writer goroutine that runs
// only while there is something to write, so an idle connection holds no
// writer goroutine and no buffers (DESIGN: avoid per-connection buffers while
// idle).
type conn struct {
	s   *Server
	id  string
	key stageKey
	// nc and rd are nil until the upgrade completes (attach); frames queued
	// before then wait for it. They are set under mu and read-only after.
	nc          net.Conn
	rd          io.Reader // nc, preceded by bytes the handshake read ahead
	connectedAt time.Time
	lastActive  atomic.Int64 // unix nanoseconds of the last data message in or out
	// stageMetrics counts the connection open from $connect's acceptance to
	// $disconnect, on the stage metrics of its handshake (set before the
	// connection is registered, read-only after).
	stageMetrics *observe.StageMetrics
	// lastStage is the stage that last handled an event of the connection,
	// so that $disconnect still runs when a reload removed the stage.
	lastStage atomic.Pointer[stage]

	// Set at the handshake and read-only afterwards.
	host           string
	sourceIP       string
	userAgent      string
	headers        []integration.Header
	rawQuery       string
	forwardedPort  string
	forwardedProto string
	authorizer     *integration.Authorizer
	// apiKey is the API key the handshake presented (zero without one), its
	// value and its api_key name (context.identity.apiKey, apiKeyId).
	apiKey      apikey.Ref
	apiKeyValue string
	apiKeyID    string

	// inflight bounds the integration calls running for this connection.
	inflight chan struct{}
	// hdr is the reader's frame header buffer.
	hdr [ws.MaxHeaderSize]byte

	mu          sync.Mutex
	state       int
	queue       []outFrame
	queuedBytes int
	writing     bool
	writer      sync.WaitGroup
	// status is what $disconnect reports; the first cause recorded wins.
	status    closeStatus
	hasStatus bool
	// initiated is true when the gateway sent the first close frame.
	initiated bool
}

// lastActiveAt returns when data last went in or out.
func (c *conn) lastActiveAt() time.Time { return time.Unix(0, c.lastActive.Load()) }

func (c *conn) touch() { c.lastActive.Store(c.s.opts.Now().UnixNano()) }

// Info implements Connection.
func (c *conn) Info() ConnectionInfo {
	return ConnectionInfo{
		ID:           c.id,
		API:          c.key.api,
		Stage:        c.key.stage,
		ConnectedAt:  c.connectedAt,
		LastActiveAt: c.lastActiveAt(),
		SourceIP:     c.sourceIP,
		UserAgent:    c.userAgent,
	}
}

// Post implements Connection: data goes to the client as one text message.
func (c *conn) Post(_ context.Context, data []byte) error {
	return c.send(ws.OpText, data)
}

// Disconnect implements Connection.
func (c *conn) Disconnect(context.Context) error {
	if !c.closeWith(closeDeleted) {
		return ErrGone
	}
	return nil
}

// send queues a data message. It returns ErrGone when the connection is
// closing, and closes a connection whose queue overflows (RT-26).
func (c *conn) send(op ws.OpCode, payload []byte) error {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrGone
	}
	if c.queueFullLocked(len(payload)) {
		c.closeLocked(closeSlowConsumer, true)
		c.mu.Unlock()
		return ErrGone
	}
	c.enqueueLocked(outFrame{op: op, payload: payload})
	c.mu.Unlock()
	c.touch()
	return nil
}

// sendControl queues a control frame (pong) while the connection is open.
// Pongs count against the send queue's bounds like messages do, so a
// client that pings without reading is disconnected too (RT-26).
func (c *conn) sendControl(op ws.OpCode, payload []byte) {
	c.mu.Lock()
	switch {
	case c.state != stateOpen:
	case c.queueFullLocked(len(payload)):
		c.closeLocked(closeSlowConsumer, true)
	default:
		c.enqueueLocked(outFrame{op: op, payload: payload})
	}
	c.mu.Unlock()
}

// queueFullLocked reports whether a frame of n bytes would overflow the
// send queue. c.mu must be held.
func (c *conn) queueFullLocked(n int) bool {
	return len(c.queue) >= c.s.opts.SendQueueMessages || c.queuedBytes+n > c.s.opts.SendQueueBytes
}

// enqueueLocked appends f to the queue and starts the writer when it is not
// running. c.mu must be held.
func (c *conn) enqueueLocked(f outFrame) {
	c.queue = append(c.queue, f)
	c.queuedBytes += len(f.payload)
	if !c.writing && c.nc != nil {
		c.writing = true
		c.writer.Add(1)
		go c.write()
	}
}

// closeWith starts the closing handshake from the gateway's side: it sends a
// close frame with st and records st for $disconnect. It reports false when
// the connection was closing already.
func (c *conn) closeWith(st closeStatus) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen {
		return false
	}
	c.closeLocked(st, false)
	return true
}

// closeLocked moves an open connection to closing with st. dropQueue
// discards messages not yet written (a slow consumer will not read them);
// otherwise the close frame follows them. c.mu must be held.
func (c *conn) closeLocked(st closeStatus, dropQueue bool) {
	c.state = stateClosing
	c.initiated = true
	c.recordLocked(st)
	if dropQueue {
		c.queue, c.queuedBytes = nil, 0
	}
	c.enqueueLocked(outFrame{op: ws.OpClose, payload: ws.NewCloseFrameBody(st.code, st.reason)})
	if c.nc == nil {
		return // attach sets the deadline once the upgrade completes
	}
	// The reader waits for the client's close frame only so long.
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.opts.CloseTimeout))
	if dropQueue {
		// A writer stuck on a client that does not read gives up now.
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.CloseTimeout))
	}
}

// recordLocked records why the connection ends, unless a cause is recorded
// already. c.mu must be held.
func (c *conn) recordLocked(st closeStatus) {
	if !c.hasStatus {
		c.status, c.hasStatus = st, true
	}
}

// abort drops the TCP connection at once (Shutdown's last resort).
func (c *conn) abort() {
	c.mu.Lock()
	c.recordLocked(closeGoingAway)
	nc := c.nc
	c.mu.Unlock()
	if nc != nil {
		_ = nc.Close()
	}
}

// attach gives the connection its socket once the upgrade has completed,
// and starts writing what was queued meanwhile (@connections posts accepted
// between $connect and the 101).
func (c *conn) attach(nc net.Conn, rd io.Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nc, c.rd = nc, rd
	if c.state != stateOpen {
		_ = nc.SetReadDeadline(time.Now().Add(c.s.opts.CloseTimeout))
	}
	if len(c.queue) > 0 && !c.writing {
		c.writing = true
		c.writer.Add(1)
		go c.write()
	}
}

// detach ends a connection whose upgrade failed: nothing queued will be
// written.
func (c *conn) detach() {
	c.mu.Lock()
	c.state = stateClosed
	c.queue, c.queuedBytes = nil, 0
	c.mu.Unlock()
}

// write drains the send queue, then ends; enqueueLocked starts it again
// when needed.
func (c *conn) write() {
	defer c.writer.Done()
	var bw *bufio.Writer
	defer func() {
		if bw != nil {
			bw.Reset(nil)
			writerPool.Put(bw)
		}
	}()
	for {
		c.mu.Lock()
		batch := c.queue
		if len(batch) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.queue, c.queuedBytes = nil, 0
		closing := c.state != stateOpen
		c.mu.Unlock()

		if bw == nil {
			bw = writerPool.Get().(*bufio.Writer)
			bw.Reset(c.nc)
		}
		// Every batch gets its own deadline: a close frame written long after
		// the last data write must not inherit that write's expired one.
		timeout := c.s.opts.WriteTimeout
		if closing {
			timeout = c.s.opts.CloseTimeout
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
		err := writeFrames(bw, batch)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			c.writeFailed(err)
			return
		}
	}
}

// writeFailed handles a failed write: a deadline means the client stopped
// reading (RT-26); anything else means the socket is gone. Either way the
// socket is closed, which ends the reader.
func (c *conn) writeFailed(err error) {
	c.mu.Lock()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.recordLocked(closeSlowConsumer)
	} else {
		c.recordLocked(closeAbnormal)
	}
	if c.state == stateOpen {
		c.state = stateClosing
	}
	c.queue, c.queuedBytes = nil, 0
	c.writing = false
	c.mu.Unlock()
	_ = c.nc.Close()
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

// writeFrames writes frames unmasked (server to client), splitting data
// messages into frames of at most MaxFrameSize bytes (D-27).
func writeFrames(w io.Writer, frames []outFrame) error {
	for _, f := range frames {
		if f.op.IsControl() {
			if err := writeFrame(w, f.op, true, f.payload); err != nil {
				return err
			}
			continue
		}
		op, p := f.op, f.payload
		for {
			n := min(len(p), MaxFrameSize)
			if err := writeFrame(w, op, n == len(p), p[:n]); err != nil {
				return err
			}
			p = p[n:]
			if len(p) == 0 {
				break
			}
			op = ws.OpContinuation
		}
	}
	return nil
}

func writeFrame(w io.Writer, op ws.OpCode, fin bool, p []byte) error {
	if err := ws.WriteHeader(w, ws.Header{Fin: fin, OpCode: op, Length: int64(len(p))}); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// serve runs the connection until it ends, then reports it to $disconnect.
func (c *conn) serve() {
	defer c.s.wg.Done()
	c.read()

	// The reader has ended: no close frame will come. Let the writer finish
	// what it has (a close frame), bounded by a deadline, then drop the
	// socket.
	c.mu.Lock()
	if c.state == stateOpen {
		c.recordLocked(closeAbnormal)
		c.queue, c.queuedBytes = nil, 0
	}
	c.state = stateClosed
	c.mu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.CloseTimeout))
	c.writer.Wait()
	_ = c.nc.Close()
	c.s.conns.remove(c)
	c.s.sources.release(c.sourceIP)

	c.mu.Lock()
	st := c.status
	c.mu.Unlock()
	c.s.disconnected(c, st)
}

// read reads frames until the connection ends (RT-20, D-37).
func (c *conn) read() {
	var (
		msg     []byte    // the fragmented message being assembled
		msgOp   ws.OpCode // its opcode; 0 when no message is in progress
		control [125]byte
	)
	for {
		h, err := ws.ReadHeaderBuffer(c.rd, c.hdr[:])
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				c.closeWith(closeProtocolError)
				c.drain()
			}
			return
		}
		switch {
		case h.Rsv != 0, h.OpCode.IsReserved(), !h.Masked,
			h.OpCode.IsControl() && (h.Length > 125 || !h.Fin),
			h.OpCode == ws.OpContinuation && msgOp == 0,
			h.OpCode.IsData() && h.OpCode != ws.OpContinuation && msgOp != 0:
			c.closeWith(closeProtocolError)
			if h.OpCode != ws.OpClose {
				// A malformed close frame is still the client's close: no
				// reply will follow it (RFC 6455 section 5.5.1).
				c.drainPayload(h.Length)
			}
			return
		case h.Length > MaxFrameSize:
			c.closeWith(closeTooBig)
			c.drainPayload(h.Length)
			return
		case h.OpCode == ws.OpBinary:
			c.closeWith(closeUnsupported)
			c.drainPayload(h.Length)
			return
		}

		if h.OpCode.IsControl() {
			p := control[:h.Length]
			if _, err := io.ReadFull(c.rd, p); err != nil {
				return
			}
			ws.Cipher(p, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				c.sendControl(ws.OpPong, append([]byte(nil), p...))
			case ws.OpClose:
				c.clientClosed(p)
				return
			}
			continue
		}

		if int64(len(msg))+h.Length > MaxMessageSize {
			c.closeWith(closeTooBig)
			c.drainPayload(h.Length)
			return
		}
		if h.OpCode == ws.OpText {
			msgOp = ws.OpText
		}
		var p []byte
		if h.Fin && len(msg) == 0 {
			// An unfragmented message is read straight into its own buffer,
			// which the integration call then owns.
			p = make([]byte, h.Length)
			if _, err := io.ReadFull(c.rd, p); err != nil {
				return
			}
			ws.Cipher(p, h.Mask, 0)
		} else {
			start := len(msg)
			msg = append(msg, make([]byte, h.Length)...)
			if _, err := io.ReadFull(c.rd, msg[start:]); err != nil {
				return
			}
			ws.Cipher(msg[start:], h.Mask, 0)
			if !h.Fin {
				continue
			}
			p, msg = msg, nil
		}
		msgOp = 0
		if !utf8.Valid(p) {
			c.closeWith(closeInvalidPayload)
			c.drain()
			return
		}
		if c.isOpen() {
			c.s.handleMessage(c, p)
		}
	}
}

// drain reads and discards what the client sends after the gateway closed
// the connection, until its close frame, the close timeout or an error, so
// that the client receives the close frame before the socket closes.
func (c *conn) drain() {
	var control [125]byte
	for {
		h, err := ws.ReadHeaderBuffer(c.rd, c.hdr[:])
		if err != nil || h.Length > MaxFrameSize || (h.OpCode.IsControl() && h.Length > 125) {
			return
		}
		if h.OpCode == ws.OpClose {
			_, _ = io.ReadFull(c.rd, control[:h.Length])
			return
		}
		if _, err := io.CopyN(io.Discard, c.rd, h.Length); err != nil {
			return
		}
	}
}

// drainPayload discards the payload of the frame whose header was read
// last, then drains: the client's reply to the close frame can only be
// found at a frame boundary.
func (c *conn) drainPayload(n int64) {
	if _, err := io.CopyN(io.Discard, c.rd, n); err != nil {
		return
	}
	c.drain()
}

// clientClosed handles a close frame from the client: it records the
// client's code and reason (or 1005) and echoes the code (D-34). When the
// gateway had sent its own close frame first, this is the reply and
// nothing more is sent.
func (c *conn) clientClosed(p []byte) {
	st := closeNoStatus
	var echo []byte
	switch {
	case len(p) == 1:
		c.closeWith(closeProtocolError)
		return
	case len(p) >= 2:
		code, reason := ws.ParseCloseFrameData(p)
		if !validCloseCode(code) {
			c.closeWith(closeProtocolError)
			return
		}
		if !utf8.ValidString(reason) {
			c.closeWith(closeInvalidPayload)
			return
		}
		st = closeStatus{code, reason}
		echo = ws.NewCloseFrameBody(code, "")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen {
		return
	}
	c.state = stateClosing
	c.recordLocked(st)
	c.enqueueLocked(outFrame{op: ws.OpClose, payload: echo})
}

// validCloseCode reports whether a client may send code in a close frame
// (RFC 6455 section 7.4).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1014:
		return code != 1004 && code != 1005 && code != 1006
	}
	return false
}

func (c *conn) isOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen
}

// prefixReader reads the bytes a handshake read ahead, then the socket.
type prefixReader struct {
	prefix []byte
	r      io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.r.Read(b)
}
