package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gobwas/ws"
)

// The special clients of the workloads the load generator does not
// express: connection churn (W6), fragmented large messages (W8), idle
// soaks (W7), the slow consumer and slowloris handshakes (W9), and direct
// HTTP calls to the backend (W3's reference).

// dialTimeout bounds one connection's handshakes.
const dialTimeout = 10 * time.Second

// newHistogram returns a latency histogram in microseconds with the
// geometry of the load generator's: 1 µs to one minute, 3 digits.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
}

// sourceIPs are the loopback addresses clients bind to in turn, so that
// many connections do not exhaust one address's ephemeral ports.
var sourceIPs = []net.IP{
	net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3), net.IPv4(127, 0, 0, 4),
}

// dialOptions tune dialWS.
type dialOptions struct {
	// source is the local address to bind; nil lets the kernel choose.
	source net.IP
	// recvBuffer, when positive, is the socket's receive buffer, set
	// before connecting so that the TCP window is small from the start.
	recvBuffer int
}

// dialWS opens a WebSocket connection to url.
func dialWS(ctx context.Context, url string, o dialOptions) (net.Conn, *bufio.Reader, error) {
	nd := &net.Dialer{Timeout: dialTimeout}
	if o.source != nil {
		nd.LocalAddr = &net.TCPAddr{IP: o.source}
	}
	if o.recvBuffer > 0 {
		nd.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.recvBuffer)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	d := ws.Dialer{Timeout: dialTimeout, NetDial: nd.DialContext}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 4096)
	}
	return conn, br, nil
}

// phases tracks the warm-up and the measured phase of a run.
type phases struct {
	start, end time.Time
}

func newPhases(warmup, duration time.Duration) phases {
	start := time.Now().Add(warmup)
	return phases{start: start, end: start.Add(duration)}
}

// measured reports whether t is in the measured phase.
func (p phases) measured(t time.Time) bool { return !t.Before(p.start) && t.Before(p.end) }

// over reports whether the run is over at t.
func (p phases) over(t time.Time) bool { return !t.Before(p.end) }

// latencySink collects latencies from many goroutines.
type latencySink struct {
	mu   sync.Mutex
	hist *hdrhistogram.Histogram
}

func newLatencySink() *latencySink { return &latencySink{hist: newHistogram()} }

func (s *latencySink) record(d time.Duration) {
	us := max(d.Microseconds(), 1)
	s.mu.Lock()
	_ = s.hist.RecordValue(min(us, int64(time.Minute/time.Microsecond)))
	s.mu.Unlock()
}

// errorCount counts errors by kind.
type errorCount struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (e *errorCount) add(kind string) {
	e.mu.Lock()
	if e.kinds == nil {
		e.kinds = map[string]int{}
	}
	e.kinds[kind]++
	e.mu.Unlock()
}

func (e *errorCount) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.kinds {
		n += c
	}
	return n
}

// churn opens and closes connections as fast as workers clients can,
// each completing the whole cycle: handshake ($connect), a close frame
// and its answer ($disconnect), and the end of the TCP connection. It
// returns completed cycles per second of the measured phase and the
// handshake latency.
func churn(ctx context.Context, url string, workers int, warmup, duration time.Duration) (sample, error) {
	ph := newPhases(warmup, duration)
	lat := newLatencySink()
	var done atomic.Int64
	var errs errorCount
	var wg sync.WaitGroup
	closeFrame := ws.MustCompileFrame(ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := dialOptions{source: sourceIPs[w%len(sourceIPs)]}
			for ctx.Err() == nil {
				t0 := time.Now()
				if ph.over(t0) {
					return
				}
				conn, br, err := dialWS(ctx, url, opts)
				if err != nil {
					errs.add("dial")
					continue
				}
				handshake := time.Since(t0)
				_ = conn.SetDeadline(time.Now().Add(dialTimeout))
				err = closeHandshake(conn, br, closeFrame)
				_ = conn.Close()
				if err != nil {
					errs.add("close")
					continue
				}
				if ph.measured(t0) {
					done.Add(1)
					lat.record(handshake)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}
	s := sampleOf(lat.hist, float64(done.Load())/duration.Seconds())
	s.Errors = errs.total()
	return s, nil
}

// closeHandshake sends the compiled close frame and reads until the
// server's close frame.
func closeHandshake(conn net.Conn, br *bufio.Reader, closeFrame []byte) error {
	if _, err := conn.Write(closeFrame); err != nil {
		return err
	}
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return err
		}
		if _, err := br.Discard(int(h.Length)); err != nil {
			return err
		}
		if h.OpCode == ws.OpClose {
			return nil
		}
	}
}

// largeMessage returns a JSON message of exactly size bytes for the echo
// route: {"action":"echo","pad":"xxx…"}.
func largeMessage(size int) []byte {
	const head, tail = `{"action":"echo","pad":"`, `"}`
	pad := max(size-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// fragmentFrames returns msg as masked text frames of at most frag bytes
// each, ready to write.
func fragmentFrames(msg []byte, frag int) []byte {
	var out bytes.Buffer
	op := ws.OpText
	for {
		n := min(len(msg), frag)
		f := ws.NewFrame(op, n == len(msg), append([]byte(nil), msg[:n]...))
		_ = ws.WriteFrame(&out, ws.MaskFrame(f))
		msg = msg[n:]
		if len(msg) == 0 {
			return out.Bytes()
		}
		op = ws.OpContinuation
	}
}

// largeMessages runs conns clients in a closed loop, each sending
// messages of the given sizes in turn, fragmented into frames of frag
// bytes, and reading the echoed message back whole. It returns messages
// per second, with the bytes per second echoed in Extra["MB/s"].
func largeMessages(ctx context.Context, url string, conns int, sizes []int, frag int, warmup, duration time.Duration) (sample, error) {
	frames := make([][]byte, len(sizes))
	for i, size := range sizes {
		frames[i] = fragmentFrames(largeMessage(size), frag)
	}
	clients := make([]net.Conn, conns)
	readers := make([]*bufio.Reader, conns)
	for i := range clients {
		c, br, err := dialWS(ctx, url, dialOptions{})
		if err != nil {
			closeAll(clients[:i])
			return sample{}, fmt.Errorf("dial %s: %w", url, err)
		}
		clients[i], readers[i] = c, br
	}
	defer closeAll(clients)
	ph := newPhases(warmup, duration)
	lat := newLatencySink()
	var msgs, bytesEchoed atomic.Int64
	var errs errorCount
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := readers[i]
			for n := i; ctx.Err() == nil; n++ {
				t0 := time.Now()
				if ph.over(t0) {
					return
				}
				k := n % len(sizes)
				_ = c.SetDeadline(t0.Add(dialTimeout))
				if _, err := c.Write(frames[k]); err != nil {
					errs.add("write")
					return
				}
				got, err := readMessageLen(br)
				if err != nil {
					errs.add("read")
					return
				}
				if got != sizes[k] {
					errs.add("length")
				}
				if ph.measured(t0) {
					lat.record(time.Since(t0))
					msgs.Add(1)
					bytesEchoed.Add(int64(got))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}
	s := sampleOf(lat.hist, float64(msgs.Load())/duration.Seconds())
	s.Errors = errs.total()
	s.Extra = map[string]float64{"MB/s": float64(bytesEchoed.Load()) / duration.Seconds() / 1e6}
	return s, nil
}

// readMessageLen reads one data message, skipping control frames, and
// returns its length.
func readMessageLen(br *bufio.Reader) (int, error) {
	n := 0
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return 0, err
		}
		if _, err := br.Discard(int(h.Length)); err != nil {
			return 0, err
		}
		switch {
		case h.OpCode == ws.OpClose:
			return 0, errors.New("the server closed the connection")
		case h.OpCode.IsControl():
			continue
		}
		n += int(h.Length)
		if h.Fin {
			return n, nil
		}
	}
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}

// openIdle opens n idle WebSocket connections to url from the loopback
// source addresses in turn, with a few dialers at once. On error, the
// connections opened so far are closed.
func openIdle(ctx context.Context, url string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, _, err := dialWS(ctx, url, dialOptions{source: sourceIPs[i%len(sourceIPs)]})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("open idle connection %d of %d: %w", i+1, n, err)
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the other dialers
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		closeAll(conns)
		return nil, firstErr
	}
	return conns, nil
}

// slowConsumer is a client that sends messages to a two-way echo route and
// does not read the replies: its socket's receive buffer is tiny, so the
// gateway's send queue for it fills up (W9).
type slowConsumer struct {
	conn net.Conn
	br   *bufio.Reader
	sent atomic.Int64
	done chan struct{}
	// closeCode is the close code the client saw, once done is closed; 0
	// when it saw none (the socket ended without a close frame it could
	// read).
	closeCode int
}

// slowConsumerMessage is the size of the slow consumer's messages: big
// enough that a few hundred fill the gateway's 4 MiB send queue.
const slowConsumerMessage = 16 << 10

// startSlowConsumer connects and sends a message every interval until
// stop is closed or the connection fails; then it reads what it was sent,
// looking for a close frame.
func startSlowConsumer(ctx context.Context, url string, interval time.Duration, stop <-chan struct{}) (*slowConsumer, error) {
	conn, br, err := dialWS(ctx, url, dialOptions{recvBuffer: 4096})
	if err != nil {
		return nil, fmt.Errorf("dial the slow consumer: %w", err)
	}
	sc := &slowConsumer{conn: conn, br: br, done: make(chan struct{})}
	frame := fragmentFrames(largeMessage(slowConsumerMessage), slowConsumerMessage)
	go func() {
		defer close(sc.done)
		defer conn.Close()
		tick := time.NewTicker(interval)
		defer tick.Stop()
	send:
		for {
			select {
			case <-stop:
				break send
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = conn.SetWriteDeadline(time.Now().Add(interval * 10))
			if _, err := conn.Write(frame); err != nil {
				break
			}
			sc.sent.Add(1)
		}
		// Now read everything that was queued: a gateway that closed the
		// connection as a slow consumer put its close frame last.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			h, err := ws.ReadHeader(br)
			if err != nil {
				return
			}
			if h.OpCode == ws.OpClose {
				p := make([]byte, h.Length)
				if _, err := io.ReadFull(br, p); err == nil && len(p) >= 2 {
					code, _ := ws.ParseCloseFrameData(p)
					sc.closeCode = int(code)
				}
				return
			}
			if _, err := br.Discard(int(h.Length)); err != nil {
				return
			}
		}
	}()
	return sc, nil
}

// slowloris opens n TCP connections to addr that start a handshake and
// send one more byte of it every interval, never finishing, until stop is
// closed. It returns once they are all open; the returned function waits
// for them to end.
func slowloris(ctx context.Context, addr, path string, n int, interval time.Duration, stop <-chan struct{}) (wait func(), err error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Slow: " + strings.Repeat("s", 4096)
	conns := make([]net.Conn, 0, n)
	for i := range n {
		d := net.Dialer{Timeout: dialTimeout, LocalAddr: &net.TCPAddr{IP: sourceIPs[i%len(sourceIPs)]}}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("open slowloris connection: %w", err)
		}
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for i := 0; i < len(req); i++ {
				_ = c.SetWriteDeadline(time.Now().Add(interval))
				if _, err := c.Write([]byte{req[i]}); err != nil {
					return // the server gave up on it
				}
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	return wg.Wait, nil
}

// directHTTP calls url with POSTs of body from conns keep-alive clients in
// a closed loop: the backend without any gateway in front, the reference
// W3's added latency is computed against.
func directHTTP(ctx context.Context, url string, conns int, body []byte, warmup, duration time.Duration) (sample, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: dialTimeout}
	ph := newPhases(warmup, duration)
	lat := newLatencySink()
	var done atomic.Int64
	var errs errorCount
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if ph.over(t0) {
					return
				}
				if kind := postEcho(ctx, client, url, body); kind != "" {
					errs.add(kind)
					if kind == "request" {
						return
					}
					continue
				}
				if ph.measured(t0) {
					lat.record(time.Since(t0))
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}
	s := sampleOf(lat.hist, float64(done.Load())/duration.Seconds())
	s.Errors = errs.total()
	return s, nil
}

// directHTTPOpen calls url with POSTs of body at rate per second, open
// loop, from at most conns keep-alive clients: the latency of each call is
// measured from its scheduled time, so a backend that falls behind cannot
// hide it. It is the reference of W3's added latency, at a rate that
// neither the backend nor the gateway saturates.
func directHTTPOpen(ctx context.Context, url string, conns int, rate float64, body []byte, warmup, duration time.Duration) (sample, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: dialTimeout}
	ph := newPhases(warmup, duration)
	lat := newLatencySink()
	var done atomic.Int64
	var errs errorCount
	schedule := make(chan time.Time, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for at := range schedule {
				if kind := postEcho(ctx, client, url, body); kind != "" {
					errs.add(kind)
					continue
				}
				if ph.measured(at) {
					lat.record(time.Since(at))
					done.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if ph.over(at) {
			break
		}
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		schedule <- at
	}
	close(schedule)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}
	s := sampleOf(lat.hist, float64(done.Load())/duration.Seconds())
	s.Errors = errs.total()
	return s, nil
}

// postEcho POSTs body to url and checks that the backend echoed it whole.
// It returns "" on success, else the error kind: "request" (the request
// could not be built), "post" (no answer) or "reply" (a wrong answer).
func postEcho(ctx context.Context, client *http.Client, url string, body []byte) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "request"
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "post"
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n != int64(len(body)) {
		return "reply"
	}
	return ""
}
