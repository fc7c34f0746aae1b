package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gobwas/ws"
)

// goodClient is a well-behaved client: one connection for the whole run,
// one numbered message outstanding at a time, every reply checked against
// the message it answers.
type goodClient struct {
	c   *wsConn
	id  int
	seq int
	// broken is what ended the client's conversation early (nil while it
	// goes on).
	broken error

	sent, answered, lost, failed, unexpected int
}

// errorFramePrefix starts every gateway error frame (RT-21, RT-22, RT-25).
var errorFramePrefix = []byte(`{"message": "`)

// message returns the client's next message: numbered, with some padding to
// look like an application message. It has no "action", so it is routed to
// $default.
func (g *goodClient) message() []byte {
	g.seq++
	b := make([]byte, 0, 160)
	b = append(b, `{"client":`...)
	b = strconv.AppendInt(b, int64(g.id), 10)
	b = append(b, `,"n":`...)
	b = strconv.AppendInt(b, int64(g.seq), 10)
	b = append(b, `,"text":"the quick brown fox jumps over the lazy dog, again and again and again"}`...)
	return b
}

// runPhase sends messages until end, waiting think between a reply and the
// next message, and returns the latency of each reply.
func (g *goodClient) runPhase(end time.Time, think, replyTimeout time.Duration) []time.Duration {
	var samples []time.Duration
	pause := time.NewTimer(0)
	defer pause.Stop()
	<-pause.C
	for g.broken == nil && time.Now().Before(end) {
		msg := g.message()
		start := time.Now()
		if err := g.c.sendText(msg); err != nil {
			g.broken = fmt.Errorf("send message %d: %w", g.seq, err)
			return samples
		}
		g.sent++
		if ok := g.await(msg, start.Add(replyTimeout)); ok {
			samples = append(samples, time.Since(start))
		}
		if g.broken != nil {
			return samples
		}
		pause.Reset(think)
		<-pause.C
	}
	return samples
}

// await reads until the reply to msg, counting it answered (true) or
// failed, or counts msg lost when the connection fails or deadline passes
// first. Replies that answer nothing outstanding are counted unexpected.
func (g *goodClient) await(msg []byte, deadline time.Time) bool {
	for {
		_, reply, err := g.c.readMessage(deadline)
		if err != nil {
			g.lost++
			g.broken = fmt.Errorf("await the reply to message %d: %w", g.seq, err)
			return false
		}
		switch {
		case bytes.Equal(reply, msg):
			g.answered++
			return true
		case bytes.HasPrefix(reply, errorFramePrefix):
			g.failed++
			return false
		default:
			g.unexpected++
		}
	}
}

// finish checks that the connection still works and that nothing more
// arrives: a ping must be answered by its pong with no data message before
// it, and a close frame by the gateway's echo of its code. It reports
// whether the connection was kept to the end.
func (g *goodClient) finish(timeout time.Duration) bool {
	defer g.c.Close()
	if g.broken != nil {
		return false
	}
	token := []byte("sentinel-" + strconv.Itoa(g.id))
	if err := g.c.writeFrame(ws.OpPing, true, token); err != nil {
		g.broken = fmt.Errorf("send the final ping: %w", err)
		return false
	}
	deadline := time.Now().Add(timeout)
	for {
		h, p, err := g.c.readFrame(deadline)
		if err != nil {
			g.broken = fmt.Errorf("await the final pong: %w", err)
			return false
		}
		if h.OpCode == ws.OpPong && bytes.Equal(p, token) {
			break
		}
		if h.OpCode == ws.OpClose {
			code, reason := ws.ParseCloseFrameData(p)
			g.broken = fmt.Errorf("await the final pong: %w", &closeError{code: code, reason: reason})
			return false
		}
		if h.OpCode.IsData() && h.Fin {
			// A message after the last reply answers nothing: a duplicate.
			g.unexpected++
		}
	}
	if err := g.c.writeFrame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "done")); err != nil {
		g.broken = fmt.Errorf("send the close frame: %w", err)
		return false
	}
	_, _, err := g.c.readMessage(time.Now().Add(timeout))
	var ce *closeError
	if !errors.As(err, &ce) || ce.code != ws.StatusNormalClosure {
		g.broken = fmt.Errorf("await the close echo: %v", err)
		return false
	}
	return true
}

// answerOnce dials a new connection and checks that a message is echoed: the
// gateway still serves after the abuse.
func answerOnce(ctx context.Context, addr string, timeout time.Duration) error {
	c, err := dialWS(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	g := &goodClient{c: c, id: -1}
	msg := g.message()
	if err := c.sendText(msg); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if !g.await(msg, time.Now().Add(timeout)) {
		return fmt.Errorf("no echo: %v", g.broken)
	}
	return nil
}
