package loadgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// errCloseSent is returned by conn.writeFrame once a close frame has been
// written: nothing may follow it.
var errCloseSent = errors.New("the close frame has been sent")

// errFrameTooLarge is returned by conn.nextMessage for a message over
// MaxMessageSize.
var errFrameTooLarge = fmt.Errorf("a message exceeds %d bytes", MaxMessageSize)

// closeFrameError is returned by conn.nextMessage for the server's close
// frame.
type closeFrameError struct{ code ws.StatusCode }

func (e *closeFrameError) Error() string { return fmt.Sprintf("closed with %d", e.code) }

// readerPool holds the buffered readers of connections whose handshake
// left no buffered data behind.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// byteSink is an io.Writer appending to a slice.
type byteSink struct{ b []byte }

func (s *byteSink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// conn is one client connection of a run, with its reader and writer.
type conn struct {
	r   *runner
	idx int // index among the opened connections: {{conn}} and tokens
	nc  net.Conn
	br  *bufio.Reader
	// brPooled says br came from readerPool rather than from the dialer.
	brPooled bool
	// id is the connection id learned with PushConfig.WhoAmI, or "".
	id string

	// wmu serialises frames: data from the writer, pongs and close
	// answers from the reader, the final close from the runner.
	wmu       sync.Mutex
	out       byteSink // the frame being written
	outHdr    [ws.MaxHeaderSize]byte
	closeSent bool

	// Owned by the writer goroutine.
	payload []byte
	seq     uint64
	timer   *time.Timer

	// Owned by the reader goroutine (and by whoami before it starts).
	inHdr [ws.MaxHeaderSize]byte
	msg   []byte
	ctrl  []byte

	mu            sync.Mutex
	pending       pendingQueue
	writerDone    bool
	drained       chan struct{}
	drainedClosed bool

	// credits holds one token per message that may be sent in closed
	// loop: InFlight to begin with, one more per reply or timeout.
	credits chan struct{}
	// done is closed when the reader has returned.
	done chan struct{}
	// closing is set when the runner starts closing the connection.
	closing atomic.Bool
	// ending is set before the network connection is closed by this
	// side, so that the errors it causes are not counted.
	ending atomic.Bool

	// Counters: all since the load started, and the measured phase.
	sentAll, recvAll atomic.Int64
	sent, received   atomic.Int64
	late, fallbacks  atomic.Int64
	closeAnswered    atomic.Bool
	_                [32]byte
}

func newConn(r *runner, nc net.Conn, br *bufio.Reader) *conn {
	c := &conn{r: r, nc: nc, br: br, drained: make(chan struct{}), done: make(chan struct{})}
	if c.br == nil {
		c.br = readerPool.Get().(*bufio.Reader)
		c.br.Reset(nc)
		c.brPooled = true
	}
	return c
}

// release returns the connection's buffered reader to its pool. The
// reader goroutine must have returned.
func (c *conn) release() {
	if c.brPooled {
		c.br.Reset(nil)
		readerPool.Put(c.br)
	} else {
		ws.PutReader(c.br)
	}
	c.br = nil
}

// writeFrame writes one masked, unfragmented frame with one write call.
func (c *conn) writeFrame(op ws.OpCode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return errCloseSent
	}
	if op == ws.OpClose {
		c.closeSent = true
	}
	c.out.b = c.out.b[:0]
	c.appendFrameLocked(op, p)
	_, err := c.nc.Write(c.out.b)
	return err
}

// appendFrameLocked appends a masked, unfragmented frame carrying p to
// c.out; c.wmu is held.
func (c *conn) appendFrameLocked(op ws.OpCode, p []byte) {
	mask := ws.NewMask()
	h := ws.Header{Fin: true, OpCode: op, Masked: true, Mask: mask, Length: int64(len(p))}
	// Writing into a byteSink cannot fail, and the buffer has the
	// required size.
	_ = ws.WriteHeaderBuffer(&c.out, h, c.outHdr[:])
	n := len(c.out.b)
	c.out.b = append(c.out.b, p...)
	ws.Cipher(c.out.b[n:], mask, 0)
}

// nextMessage reads frames until a whole data message has arrived and
// returns its payload, valid until the next call. It answers pings, and
// returns a *closeFrameError for the server's close frame.
func (c *conn) nextMessage() ([]byte, error) {
	c.msg = c.msg[:0]
	for {
		h, err := ws.ReadHeaderBuffer(c.br, c.inHdr[:])
		if err != nil {
			return nil, err
		}
		if h.OpCode.IsControl() {
			if h.Length > 125 || !h.Fin {
				return nil, ws.ErrProtocolControlPayloadOverflow
			}
			if cap(c.ctrl) < 125 {
				c.ctrl = make([]byte, 125)
			}
			p := c.ctrl[:h.Length]
			if _, err := io.ReadFull(c.br, p); err != nil {
				return nil, err
			}
			if h.Masked {
				ws.Cipher(p, h.Mask, 0)
			}
			switch h.OpCode {
			case ws.OpPing:
				if err := c.writeFrame(ws.OpPong, p); err != nil && !errors.Is(err, errCloseSent) {
					return nil, err
				}
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(p)
				if code.Empty() {
					code = ws.StatusNoStatusRcvd
				}
				return nil, &closeFrameError{code: code}
			}
			continue
		}
		n := len(c.msg)
		if h.Length > int64(MaxMessageSize-n) {
			return nil, errFrameTooLarge
		}
		need := n + int(h.Length)
		if cap(c.msg) < need {
			grown := make([]byte, n, max(need, 2*cap(c.msg)))
			copy(grown, c.msg)
			c.msg = grown
		}
		c.msg = c.msg[:need]
		if _, err := io.ReadFull(c.br, c.msg[n:]); err != nil {
			return nil, err
		}
		if h.Masked {
			ws.Cipher(c.msg[n:], h.Mask, 0)
		}
		if h.Fin {
			return c.msg, nil
		}
	}
}

// whoami sends PushConfig.WhoAmI and sets c.id from the first reply.
func (c *conn) whoami() error {
	p := c.r.s.Push
	if err := c.nc.SetDeadline(time.Now().Add(c.r.s.Timeout)); err != nil {
		return err
	}
	defer c.nc.SetDeadline(time.Time{})
	if err := c.writeFrame(ws.OpText, []byte(p.WhoAmI)); err != nil {
		return fmt.Errorf("send %s: %w", p.WhoAmI, err)
	}
	msg, err := c.nextMessage()
	if err != nil {
		return fmt.Errorf("read the reply to %s: %w", p.WhoAmI, err)
	}
	id, err := jsonField(msg, p.IDFrom)
	if err != nil {
		return fmt.Errorf("reply %.200q to %s: %w", msg, p.WhoAmI, err)
	}
	c.id = id
	return nil
}

// jsonField returns the string at the dotted path in the JSON object p.
func jsonField(p []byte, path string) (string, error) {
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		return "", errors.New("not JSON")
	}
	for _, name := range splitPath(path) {
		obj, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("no field %s", path)
		}
		if v, ok = obj[name]; !ok {
			return "", fmt.Errorf("no field %s", path)
		}
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("field %s is not a non-empty string", path)
	}
	return s, nil
}

func splitPath(path string) []string {
	var names []string
	for {
		i := bytes.IndexByte([]byte(path), '.')
		if i < 0 {
			return append(names, path)
		}
		names = append(names, path[:i])
		path = path[i+1:]
	}
}

// readLoop reads every message until the connection ends.
func (c *conn) readLoop() {
	defer close(c.done)
	for {
		msg, err := c.nextMessage()
		if err != nil {
			c.readEnded(err)
			return
		}
		c.onMessage(msg)
	}
}

// readEnded accounts for the end of the connection: a close frame from the
// server (answered), the answer to the generator's own, or a failure; and
// the replies that will not come.
func (c *conn) readEnded(err error) {
	r := c.r
	var closed *closeFrameError
	switch {
	case errors.As(err, &closed):
		if c.closing.Load() {
			c.closeAnswered.Store(true)
			break
		}
		r.countClose(int(closed.code))
		body := ws.NewCloseFrameBody(closed.code, "")
		if closed.code == ws.StatusNoStatusRcvd {
			body = nil
		}
		_ = c.writeFrame(ws.OpClose, body)
	case c.closing.Load() || c.ending.Load():
		// The runner closed the connection, or its close went unanswered
		// in time: counted by closeAnswered.
	case errors.Is(err, errFrameTooLarge):
		r.addError("read")
		_ = c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(ws.StatusMessageTooBig, ""))
	default:
		r.addError("read")
	}
	c.ending.Store(true)
	c.mu.Lock()
	lost := c.pending.outstanding
	c.pending = pendingQueue{}
	c.writerDone = true // nothing more will be answered or sent
	c.checkDrainedLocked()
	c.mu.Unlock()
	if lost > 0 {
		r.addErrors("unanswered", lost)
	}
}

// onMessage handles one data message from the server.
func (c *conn) onMessage(p []byte) {
	r := c.r
	now := r.now()
	var (
		m        pendingMsg
		matched  bool
		fallback bool
		pushTok  bool
		pushSeq  uint64
		twoWay   = !r.s.OneWay && r.s.Mode != Idle
	)
	c.mu.Lock()
	for rest := p; ; {
		ft, after, ok := r.tok.next(rest)
		if !ok {
			break
		}
		rest = after
		if ft.push {
			if r.push != nil {
				pushTok, pushSeq = true, ft.seq
				break
			}
			continue
		}
		if twoWay && ft.conn == c.idx {
			if m, matched = c.pending.complete(ft.seq); matched {
				break
			}
		}
	}
	if twoWay && !matched && !pushTok {
		var seq uint64
		if seq, _, fallback = c.pending.oldest(); fallback {
			m, matched = c.pending.complete(seq)
		}
	}
	if matched {
		c.checkDrainedLocked()
	}
	c.mu.Unlock()

	switch {
	case pushTok:
		r.push.deliver(pushSeq, now)
		return
	case !twoWay:
		c.recvAll.Add(1)
		if now >= r.measureStart && now < r.measureEnd {
			c.received.Add(1)
		}
		return
	case !matched:
		r.addError("unmatched-reply")
		return
	}
	if fallback {
		c.fallbacks.Add(1)
	}
	c.returnCredit()
	if msg, ok := errorFrameMessage(p); ok {
		r.addErrorFrame(msg)
		return
	}
	c.recvAll.Add(1)
	if m.measured {
		c.received.Add(1)
	}
	r.rec.record(c.idx, time.Duration(now-m.sent), m.measured)
}

// checkDrainedLocked closes c.drained once the writer has finished and no
// message is outstanding; c.mu is held.
func (c *conn) checkDrainedLocked() {
	if c.writerDone && c.pending.outstanding == 0 && !c.drainedClosed {
		c.drainedClosed = true
		close(c.drained)
	}
}

// returnCredit lets the closed-loop writer send one more message.
func (c *conn) returnCredit() {
	if c.credits != nil {
		select {
		case c.credits <- struct{}{}:
		default:
		}
	}
}

// expire counts the messages outstanding for longer than the timeout as
// "timeout" errors and frees their places.
func (c *conn) expire(now int64) {
	timeout := int64(c.r.s.Timeout)
	n := 0
	c.mu.Lock()
	for {
		seq, m, ok := c.pending.oldest()
		if !ok || now-m.sent < timeout {
			break
		}
		c.pending.complete(seq)
		n++
	}
	if n > 0 {
		c.checkDrainedLocked()
	}
	c.mu.Unlock()
	for range n {
		c.returnCredit()
	}
	if n > 0 {
		c.r.addErrors("timeout", n)
	}
}

// errorFramePrefix and errorFrameMarker recognise the gateway's error
// frames: {"message": "...", "connectionId":"...", ...}.
var (
	errorFramePrefix = []byte(`{"message"`)
	errorFrameMarker = []byte(`"connectionId"`)
)

// errorFrameMessage returns the message of an error frame like the
// gateway's, and whether p is one.
func errorFrameMessage(p []byte) (string, bool) {
	if !bytes.HasPrefix(p, errorFramePrefix) || !bytes.Contains(p, errorFrameMarker) {
		return "", false
	}
	var f struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(p, &f); err != nil {
		return "", false
	}
	return f.Message, true
}

// send renders and writes the n messages from c.seq on, sent (closed
// loop) or scheduled (open loop) at at, with one write call, and reports
// whether the connection can go on.
func (c *conn) send(n int, at int64, measured bool) bool {
	r := c.r
	first := c.seq
	c.seq += uint64(n)
	if !r.s.OneWay {
		c.mu.Lock()
		if c.writerDone {
			// The reader has ended: nothing sent now could be answered.
			c.mu.Unlock()
			return false
		}
		for i := range uint64(n) {
			c.pending.add(first+i, at, measured)
		}
		c.mu.Unlock()
	}
	c.wmu.Lock()
	if c.closeSent {
		c.wmu.Unlock()
		return false
	}
	c.out.b = c.out.b[:0]
	for i := range uint64(n) {
		c.payload = r.s.tmpl.render(c.payload[:0], c.idx, first+i, r.tok, false, r.startUnix+at)
		c.appendFrameLocked(ws.OpText, c.payload)
	}
	_, err := c.nc.Write(c.out.b)
	c.wmu.Unlock()
	if err != nil {
		if !c.ending.Load() {
			r.addError("write")
		}
		return false
	}
	c.sentAll.Add(int64(n))
	if measured {
		c.sent.Add(int64(n))
	}
	return true
}

// maxBatch bounds the messages a closed-loop writer sends with one write
// call when several replies have come back since its last one.
const maxBatch = 64

// writeClosed is the closed-loop writer: it sends a message whenever a
// credit is available (at once and continuously when one-way) until the
// measured phase ends.
func (c *conn) writeClosed() {
	r := c.r
	for {
		if c.credits != nil {
			select {
			case <-c.credits:
			case <-r.stop:
				return
			case <-c.done:
				return
			}
		} else {
			select {
			case <-r.stop:
				return
			case <-c.done:
				return
			default:
			}
		}
		// Send as many messages as there are credits, in one write.
		n := 1
	batch:
		for c.credits != nil && n < maxBatch {
			select {
			case <-c.credits:
				n++
			default:
				break batch
			}
		}
		now := r.now()
		if now >= r.measureEnd {
			return
		}
		if !c.send(n, now, now >= r.measureStart) {
			return
		}
	}
}

// writeOpen is the open-loop writer of connection c among n: it sends
// message j of the run's schedule, due at j/Rate seconds, for every j equal
// to c.idx modulo n, until the schedule reaches the end of the measured
// phase. A message sent late keeps its scheduled time, so its latency
// includes the delay.
func (c *conn) writeOpen(n int) {
	r := c.r
	interval := float64(time.Second) / r.s.Rate
	c.timer = time.NewTimer(time.Hour)
	c.timer.Stop()
	defer c.timer.Stop()
	for k := uint64(0); ; k++ {
		at := int64(float64(k*uint64(n)+uint64(c.idx)) * interval)
		if at >= r.measureEnd {
			return
		}
		if wait := at - r.now(); wait > 0 {
			c.timer.Reset(time.Duration(wait))
			select {
			case <-c.timer.C:
			case <-r.abort:
				return
			case <-c.done:
				return
			}
		} else {
			select {
			case <-r.abort:
				return
			case <-c.done:
				return
			default:
			}
		}
		measured := at >= r.measureStart
		if measured && r.now()-at >= int64(LateThreshold) {
			c.late.Add(1)
		}
		if !c.send(1, at, measured) {
			return
		}
	}
}
