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
	"syscall"
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
	nc net.Conn
	rd io.Reader // nc, preceded by bytes the handshake read ahead
	// raw is nc's raw socket when it is a plain TCP connection: the reader
	// then waits for data without holding a buffer (see input). nil for
	// TLS, whose reads go through rd.
	raw syscall.RawConn
	// rawRead is c.readFD, made once, for raw.Read.
	rawRead     func(fd uintptr) bool
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

	// The reader's input, owned by the reader goroutine (see input). rbuf
	// is a pooled buffer held only while data is flowing; rbuf[rpos:rend]
	// is read but not consumed. rdst, rn and rerr carry one raw read.
	rbuf       *readBuffer
	rpos, rend int
	rdst       []byte
	rn         int
	rerr       error
	// one receives the first byte after an idle wait without raw.
	one [1]byte
	// writeLoop is c.write, made once, for the go statement that starts
	// the writer.
	writeLoop func()
	// rawWrite is c.writeFD, made once, for raw.Write; wdata, wn and werr
	// carry one non-blocking write (see flushHeld).
	rawWrite func(fd uintptr) bool
	wdata    []byte
	wn       int
	werr     error
	// pendingOut is what flushHeld could not write at once; the writer it
	// starts writes it first.
	pendingOut *[]byte

	mu    sync.Mutex
	state int
	// queue is the send queue, backed by the pooled array *queueBuf (both
	// nil while nothing is queued).
	queue       []outFrame
	queueBuf    *[]outFrame
	queuedBytes int
	writing     bool
	// held is set while the reader runs an integration call inline: what
	// the call queues is written by the reader when the call returns
	// (flushHeld), not by a new writer goroutine.
	held   bool
	writer sync.WaitGroup
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
	if c.queueBuf == nil {
		c.queueBuf = queues.Get().(*[]outFrame)
		c.queue = (*c.queueBuf)[:0]
	}
	c.queue = append(c.queue, f)
	c.queuedBytes += len(f.payload)
	if !c.writing && !c.held && c.nc != nil {
		c.startWriterLocked()
	}
}

// holdWrites makes frames queued from now on wait for flushHeld.
func (c *conn) holdWrites() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

// maxInlineWrite bounds the bytes flushHeld writes itself.
const maxInlineWrite = 16 << 10

var outBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// flushHeld ends holdWrites and writes what was queued meanwhile. On a
// plain TCP connection that is open, with no writer running, it tries one
// non-blocking write of the whole batch from the calling goroutine: a
// client that keeps up gets its reply without a writer goroutine or a
// write deadline. Whatever that write leaves, and every other case, goes
// to the writer goroutine as usual.
func (c *conn) flushHeld() {
	c.mu.Lock()
	c.held = false
	if c.writing || len(c.queue) == 0 || c.nc == nil {
		c.mu.Unlock()
		return
	}
	if c.raw == nil || c.state != stateOpen || c.queuedBytes > maxInlineWrite {
		c.startWriterLocked()
		c.mu.Unlock()
		return
	}
	batch, batchBuf := c.takeQueueLocked()
	c.writing = true
	c.writer.Add(1)
	if c.writeLoop == nil {
		c.writeLoop = c.write
	}
	c.mu.Unlock()

	out := outBuffers.Get().(*[]byte)
	*out = appendFrames((*out)[:0], batch)
	putQueue(batch, batchBuf)
	c.wdata = *out
	err := c.raw.Write(c.rawWrite)
	n, werr := c.wn, c.werr
	c.wdata, c.wn, c.werr = nil, 0, nil
	switch {
	case err == nil && werr != nil:
		putOut(out)
		c.writeFailed(werr)
		c.writer.Done()
		return
	case err == nil && n == len(*out):
		putOut(out)
		c.mu.Lock()
		c.writing = false
		c.writer.Done()
		if len(c.queue) > 0 {
			c.startWriterLocked()
		}
		c.mu.Unlock()
		return
	}
	// The socket's buffer is full, or the write could not be tried (an
	// old write deadline has passed): the writer goroutine writes the
	// rest under a fresh deadline.
	if err != nil {
		n = 0
	}
	*out = (*out)[:copy(*out, (*out)[n:])]
	c.pendingOut = out
	go c.writeLoop()
}

// putOut gives an output buffer back to the pool.
func putOut(b *[]byte) {
	if cap(*b) <= 4*maxInlineWrite {
		*b = (*b)[:0]
		outBuffers.Put(b)
	}
}

// writeFD is the function raw.Write calls: one write of c.wdata that
// never waits for the socket to become writable.
func (c *conn) writeFD(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), c.wdata)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		if err == syscall.EAGAIN {
			err = nil
		}
		if err != nil {
			err = os.NewSyscallError("write", err)
		}
		c.wn, c.werr = n, err
		return true
	}
}

// startWriterLocked starts the writer goroutine. c.mu must be held.
func (c *conn) startWriterLocked() {
	c.writing = true
	c.writer.Add(1)
	if c.writeLoop == nil {
		c.writeLoop = c.write
	}
	go c.writeLoop()
}

// takeQueueLocked returns the queued frames and the array behind them, and
// empties the queue. c.mu must be held.
func (c *conn) takeQueueLocked() ([]outFrame, *[]outFrame) {
	q, buf := c.queue, c.queueBuf
	c.queue, c.queueBuf, c.queuedBytes = nil, nil, 0
	return q, buf
}

// dropQueueLocked discards the queued frames. c.mu must be held.
func (c *conn) dropQueueLocked() {
	putQueue(c.takeQueueLocked())
}

// queues holds send queue arrays, so that a connection holds one only
// while it has frames queued.
var queues = sync.Pool{New: func() any {
	q := make([]outFrame, 0, 4)
	return &q
}}

// maxPooledQueue is the largest queue array put back into queues.
const maxPooledQueue = 256

// putQueue gives a queue array back to the pool, dropping the payloads.
func putQueue(q []outFrame, buf *[]outFrame) {
	if buf == nil || cap(q) > maxPooledQueue {
		return
	}
	clear(q)
	*buf = q[:0]
	queues.Put(buf)
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
		c.dropQueueLocked()
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
// with the bytes the handshake read ahead of it, and starts writing what was queued meanwhile (@connections posts accepted
// between $connect and the 101).
func (c *conn) attach(nc net.Conn, ahead []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nc = nc
	c.setInput(nc, ahead)
	if c.state != stateOpen {
		_ = nc.SetReadDeadline(time.Now().Add(c.s.opts.CloseTimeout))
	}
	if len(c.queue) > 0 && !c.writing {
		c.startWriterLocked()
	}
}

// detach ends a connection whose upgrade failed: nothing queued will be
// written.
func (c *conn) detach() {
	c.mu.Lock()
	c.state = stateClosed
	c.dropQueueLocked()
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
	if p := c.pendingOut; p != nil {
		c.pendingOut = nil
		c.mu.Lock()
		closing := c.state != stateOpen
		c.mu.Unlock()
		timeout := c.s.opts.WriteTimeout
		if closing {
			timeout = c.s.opts.CloseTimeout
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
		_, err := c.nc.Write(*p)
		putOut(p)
		if err != nil {
			c.writeFailed(err)
			return
		}
	}
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.writing = false
			if c.state == stateOpen {
				// The next inline write must not meet this batch's
				// deadline long after it passed; close deadlines (set
				// once the state leaves open) stay.
				_ = c.nc.SetWriteDeadline(time.Time{})
			}
			c.mu.Unlock()
			return
		}
		batch, batchBuf := c.takeQueueLocked()
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
		putQueue(batch, batchBuf)
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
	c.dropQueueLocked()
	c.writing = false
	c.mu.Unlock()
	_ = c.nc.Close()
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

// appendFrames appends frames unmasked, as writeFrames writes them.
func appendFrames(dst []byte, frames []outFrame) []byte {
	for _, f := range frames {
		op, p := f.op, f.payload
		for {
			n := len(p)
			if !f.op.IsControl() {
				n = min(n, MaxFrameSize)
			}
			dst = appendHeader(dst, op, n == len(p), n)
			dst = append(dst, p[:n]...)
			p = p[n:]
			if len(p) == 0 {
				break
			}
			op = ws.OpContinuation
		}
	}
	return dst
}

// writeFrames writes frames unmasked (server to client), splitting data
// messages into frames of at most MaxFrameSize bytes (D-27).
func writeFrames(w *bufio.Writer, frames []outFrame) error {
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

// writeFrame writes one unmasked frame. The header is built in w's free
// space, so nothing is allocated.
func writeFrame(w *bufio.Writer, op ws.OpCode, fin bool, p []byte) error {
	if _, err := w.Write(appendHeader(w.AvailableBuffer(), op, fin, len(p))); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// appendHeader appends the header of an unmasked frame of n payload bytes
// (RFC 6455 section 5.2).
func appendHeader(dst []byte, op ws.OpCode, fin bool, n int) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	}
	return append(dst, b0, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// serve runs the connection until it ends, then reports it to $disconnect.
func (c *conn) serve() {
	defer c.s.wg.Done()
	// Between messages the reader waits in waitInput, a shallow frame that
	// holds no buffer, so that an idle connection's stack stays small
	// enough for the garbage collector to shrink.
	var rs readState
	for c.waitInput() && c.readFrames(&rs) {
	}
	c.releaseInput()

	// The reader has ended: no close frame will come. Let the writer finish
	// what it has (a close frame), bounded by a deadline, then drop the
	// socket.
	c.mu.Lock()
	if c.state == stateOpen {
		c.recordLocked(closeAbnormal)
		c.dropQueueLocked()
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

// readState is what the reader keeps between frames: the fragmented
// message being assembled.
type readState struct {
	msg   []byte    // the fragmented message being assembled
	msgOp ws.OpCode // its opcode; 0 when no message is in progress
}

// msgIDSpace is the room left after a message's bytes for the ids of its
// request (request, extended request and message id), so that one
// allocation holds both (see idsInto).
const msgIDSpace = 3 * IDLength

// readFrames reads and handles frames while input is buffered (RT-20,
// D-37). It returns true when it has consumed everything buffered, at a
// frame boundary, and false when the connection ends.
func (c *conn) readFrames(rs *readState) bool {
	in := (*input)(c)
	for {
		h, err := ws.ReadHeaderBuffer(in, c.hdr[:])
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				c.closeWith(closeProtocolError)
				c.drain()
			}
			return false
		}
		switch {
		case h.Rsv != 0, h.OpCode.IsReserved(), !h.Masked,
			h.OpCode.IsControl() && (h.Length > 125 || !h.Fin),
			h.OpCode == ws.OpContinuation && rs.msgOp == 0,
			h.OpCode.IsData() && h.OpCode != ws.OpContinuation && rs.msgOp != 0:
			c.closeWith(closeProtocolError)
			if h.OpCode != ws.OpClose {
				// A malformed close frame is still the client's close: no
				// reply will follow it (RFC 6455 section 5.5.1).
				c.drainPayload(h.Length)
			}
			return false
		case h.Length > MaxFrameSize:
			c.closeWith(closeTooBig)
			c.drainPayload(h.Length)
			return false
		case h.OpCode == ws.OpBinary:
			c.closeWith(closeUnsupported)
			c.drainPayload(h.Length)
			return false
		}

		if h.OpCode.IsControl() {
			// The read buffer is held from waitInput until readFrames
			// returns, so its control space is there.
			p := c.rbuf.control[:h.Length]
			if _, err := io.ReadFull(in, p); err != nil {
				return false
			}
			ws.Cipher(p, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				c.holdWrites()
				c.sendControl(ws.OpPong, append([]byte(nil), p...))
				c.flushHeld()
			case ws.OpClose:
				c.clientClosed(p)
				return false
			}
			if c.rpos == c.rend {
				return true
			}
			continue
		}

		if int64(len(rs.msg))+h.Length > MaxMessageSize {
			c.closeWith(closeTooBig)
			c.drainPayload(h.Length)
			return false
		}
		if h.OpCode == ws.OpText {
			rs.msgOp = ws.OpText
		}
		var p, ids []byte
		if h.Fin && len(rs.msg) == 0 {
			// An unfragmented message is read straight into its own buffer,
			// which the integration call then owns, with room for its ids.
			n := int(h.Length)
			buf := make([]byte, n+msgIDSpace)
			p, ids = buf[:n:n], buf[n:]
			if _, err := io.ReadFull(in, p); err != nil {
				return false
			}
			ws.Cipher(p, h.Mask, 0)
		} else {
			start := len(rs.msg)
			rs.msg = append(rs.msg, make([]byte, h.Length)...)
			if _, err := io.ReadFull(in, rs.msg[start:]); err != nil {
				return false
			}
			ws.Cipher(rs.msg[start:], h.Mask, 0)
			if !h.Fin {
				if c.rpos == c.rend {
					return true
				}
				continue
			}
			p, rs.msg = rs.msg, nil
			p = p[:len(p):len(p)]
		}
		rs.msgOp = 0
		if !utf8.Valid(p) {
			c.closeWith(closeInvalidPayload)
			c.drain()
			return false
		}
		if c.isOpen() {
			c.s.handleMessage(c, p, ids)
		}
		if c.rpos == c.rend {
			return true
		}
	}
}

// readBufferSize is the size of the pooled read buffers.
const readBufferSize = 4096

// readBuffer is a pooled read buffer: data read from the socket, and
// room for a control frame's payload.
type readBuffer struct {
	data    [readBufferSize]byte
	control [125]byte
}

var readBuffers = sync.Pool{New: func() any { return new(readBuffer) }}

// input is a conn seen as the reader's io.Reader: bytes come from the
// pooled read buffer while data is flowing, and a read that the buffer
// cannot serve refills it from the socket (or, for a payload at least as
// large as the buffer, reads straight into the payload).
type input conn

// Read implements io.Reader.
func (in *input) Read(p []byte) (int, error) {
	c := (*conn)(in)
	if c.rpos < c.rend {
		n := copy(p, c.rbuf.data[c.rpos:c.rend])
		c.rpos += n
		return n, nil
	}
	if len(p) >= readBufferSize {
		return c.fill(p)
	}
	if c.rbuf == nil {
		c.rbuf = readBuffers.Get().(*readBuffer)
	}
	n, err := c.fill(c.rbuf.data[:])
	if n == 0 {
		return 0, err
	}
	c.rpos, c.rend = 0, n
	n = copy(p, c.rbuf.data[:n])
	c.rpos += n
	return n, nil
}

// fill reads at least one byte into dst from the socket, blocking until
// there is one; nil dst means the read buffer, taken from the pool only
// once data has arrived.
func (c *conn) fill(dst []byte) (int, error) {
	if c.raw == nil {
		if dst == nil {
			if c.rbuf == nil {
				c.rbuf = readBuffers.Get().(*readBuffer)
			}
			dst = c.rbuf.data[:]
		}
		return c.rd.Read(dst)
	}
	c.rdst = dst
	err := c.raw.Read(c.rawRead)
	c.rdst = nil
	if err != nil {
		return 0, err
	}
	n, err := c.rn, c.rerr
	c.rn, c.rerr = 0, nil
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// readFD is the function raw.Read calls: it reads once from the socket
// into c.rdst, or into a read buffer taken from the pool, and asks to wait
// for readability when there is nothing to read, giving the buffer back
// first so that a waiting connection holds none.
func (c *conn) readFD(fd uintptr) bool {
	dst := c.rdst
	pooled := false
	if dst == nil {
		if c.rbuf == nil {
			c.rbuf, pooled = readBuffers.Get().(*readBuffer), true
		}
		dst = c.rbuf.data[:]
	}
	for {
		n, err := syscall.Read(int(fd), dst)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if pooled {
				readBuffers.Put(c.rbuf)
				c.rbuf = nil
			}
			return false
		}
		if n < 0 {
			n = 0
		}
		if err != nil {
			err = os.NewSyscallError("read", err)
		}
		c.rn, c.rerr = n, err
		return true
	}
}

// waitInput waits until the client has sent something, reading it into the
// read buffer, and reports false when the connection ended instead. Before
// it waits it gives an empty read buffer back to the pool. Without a raw
// socket (TLS) it waits in a one-byte read.
func (c *conn) waitInput() bool {
	if c.rpos < c.rend {
		return true
	}
	c.releaseInput()
	if c.raw == nil {
		n, err := c.rd.Read(c.one[:])
		if n == 0 {
			return err == nil && c.waitInput()
		}
		c.rbuf = readBuffers.Get().(*readBuffer)
		c.rbuf.data[0] = c.one[0]
		c.rpos, c.rend = 0, 1
		return true
	}
	n, err := c.fill(nil)
	if n == 0 || err != nil {
		return false
	}
	c.rpos, c.rend = 0, n
	return true
}

// releaseInput gives the read buffer back to the pool when nothing in it is
// left to read.
func (c *conn) releaseInput() {
	if c.rbuf != nil && c.rpos == c.rend {
		readBuffers.Put(c.rbuf)
		c.rbuf = nil
		c.rpos, c.rend = 0, 0
	}
}

// setInput prepares the reader's input for nc, with the bytes the
// handshake read ahead.
func (c *conn) setInput(nc net.Conn, ahead []byte) {
	c.rd = nc
	under := nc
	if cc, ok := nc.(*captureConn); ok {
		under = cc.Conn
	}
	if sc, ok := under.(*net.TCPConn); ok && len(ahead) <= readBufferSize {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.rawRead = c.readFD
			c.rawWrite = c.writeFD
		}
	}
	if len(ahead) == 0 {
		return
	}
	if len(ahead) > readBufferSize {
		c.rd = &prefixReader{prefix: append([]byte(nil), ahead...), r: nc}
		return
	}
	c.rbuf = readBuffers.Get().(*readBuffer)
	c.rpos, c.rend = 0, copy(c.rbuf.data[:], ahead)
}

// drain reads and discards what the client sends after the gateway closed
// the connection, until its close frame, the close timeout or an error, so
// that the client receives the close frame before the socket closes.
func (c *conn) drain() {
	var control [125]byte
	in := (*input)(c)
	for {
		h, err := ws.ReadHeaderBuffer(in, c.hdr[:])
		if err != nil || h.Length > MaxFrameSize || (h.OpCode.IsControl() && h.Length > 125) {
			return
		}
		if h.OpCode == ws.OpClose {
			_, _ = io.ReadFull(in, control[:h.Length])
			return
		}
		if _, err := io.CopyN(io.Discard, in, h.Length); err != nil {
			return
		}
	}
}

// drainPayload discards the payload of the frame whose header was read
// last, then drains: the client's reply to the close frame can only be
// found at a frame boundary.
func (c *conn) drainPayload(n int64) {
	if _, err := io.CopyN(io.Discard, (*input)(c), n); err != nil {
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
