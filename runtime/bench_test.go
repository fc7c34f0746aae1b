package runtime

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// idleConns is how many idle connections BenchmarkIdleConnection opens per
// iteration.
const idleConns = 2000

// registered returns how many connections the server's registry holds,
// without allocating.
func (r *registry) registered() int {
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		n += len(sh.conns)
		sh.mu.RUnlock()
	}
	return n
}

// memInUse returns the heap and stack memory in use after a full GC.
func memInUse() (heap, stack uint64) {
	goruntime.GC()
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// waitFor spins until cond holds, failing the benchmark after testTimeout.
func waitFor(b testing.TB, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("%s: not reached within %s", what, testTimeout)
		}
		goruntime.Gosched()
	}
}

// rawSocketCost returns the heap and stack bytes that n plain TCP
// connections cost in this process: the client's net.Conn and the accepted
// one, held by a listener that starts no goroutine per connection. This is
// the part of BenchmarkIdleConnection's measurement that any server and its
// in-process clients pay, so it is subtracted to leave the gateway's own
// cost.
func rawSocketCost(b *testing.B, n int) (heap, stack float64) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make([]net.Conn, 0, n)
	clients := make([]net.Conn, 0, n)
	acceptDone := make(chan error, 1)
	h0, s0 := memInUse()
	go func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				acceptDone <- err
				return
			}
			accepted = append(accepted, c)
		}
		acceptDone <- nil
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
	}
	if err := <-acceptDone; err != nil {
		b.Fatal(err)
	}
	h1, s1 := memInUse()
	for _, c := range clients {
		_ = c.Close()
	}
	for _, c := range accepted {
		_ = c.Close()
	}
	return (float64(h1) - float64(h0)) / float64(n), (float64(s1) - float64(s0)) / float64(n)
}

// BenchmarkIdleConnection measures the memory an idle, accepted WebSocket
// connection costs the gateway (DESIGN: measure bytes per idle connection).
// Each iteration opens idleConns connections to a stage without $connect,
// waits until the gateway has registered them, and compares HeapInuse and
// StackInuse after a forced GC with the values before. The clients live in
// the same process, so the cost of the same number of plain TCP connection
// pairs (client and accepted socket, no goroutine) is measured too and
// subtracted: B/conn is what the gateway holds beyond a bare accepted socket
// (its reader goroutine's stack, the conn, registry entry, captured
// handshake headers, ...). raw-B/conn is that bare socket pair's cost.
func BenchmarkIdleConnection(b *testing.B) {
	fn := newBackend(b, nil)
	g := startGateway(b, newState(b, proxyAPI("chat", fn.URL, &model.Route{Key: "$default"})), Options{})
	url := g.url("/chat/test")
	rawHeap, rawStack := rawSocketCost(b, idleConns)
	conns := make([]net.Conn, 0, idleConns)
	var heap, stack, goroutines float64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		conns = conns[:0]
		g0 := goruntime.NumGoroutine()
		h0, s0 := memInUse()
		for range idleConns {
			nc, br, _, err := ws.Dialer{Timeout: testTimeout}.Dial(context.Background(), url)
			if err != nil {
				b.Fatal(err)
			}
			if br != nil {
				ws.PutReader(br)
			}
			conns = append(conns, nc)
		}
		waitFor(b, "connections registered", func() bool { return g.srv.conns.registered() == idleConns })
		h1, s1 := memInUse()
		heap += (float64(h1) - float64(h0)) / idleConns
		stack += (float64(s1) - float64(s0)) / idleConns
		goroutines += float64(goruntime.NumGoroutine()-g0) / idleConns
		b.StopTimer()
		for _, c := range conns {
			_ = c.Close()
		}
		waitFor(b, "connections closed", func() bool { return g.srv.conns.registered() == 0 })
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric((heap+stack)/n-rawHeap-rawStack, "B/conn")
	b.ReportMetric(heap/n-rawHeap, "heap-B/conn")
	b.ReportMetric(stack/n-rawStack, "stack-B/conn")
	b.ReportMetric(rawHeap+rawStack, "raw-B/conn")
	b.ReportMetric(goroutines/n, "goroutines/conn")
}

// benchClients is how many concurrent clients the throughput benchmarks
// run.
const benchClients = 16

// fixedLambda is a Lambda-style backend that answers every request with the
// same small proxy result, as cheaply as a backend can, so that the
// benchmarks measure the gateway. hits counts the requests.
func fixedLambda(b *testing.B, hits *atomic.Int64, target int64, reached chan<- struct{}) *httptest.Server {
	b.Helper()
	reply := []byte(`{"statusCode":200,"body":"ok"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
		if hits.Add(1) == target && reached != nil {
			close(reached)
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchConn is a benchmark client: a raw connection and its reader.
type benchConn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialBench(b *testing.B, url string) *benchConn {
	b.Helper()
	c := dial(b, url, nil)
	return &benchConn{nc: c.conn, br: c.br}
}

// benchMessage is the message the throughput benchmarks send; it has an
// action that no route matches, so it goes to $default.
var benchMessage = []byte(`{"action":"sendmessage","data":"hello, world"}`)

// BenchmarkDefaultRouteAWSProxy measures messages per second through a
// two-way $default route to a local Lambda-style backend, with benchClients
// clients that each send a message and wait for its answer.
func BenchmarkDefaultRouteAWSProxy(b *testing.B) {
	var hits atomic.Int64
	fn := fixedLambda(b, &hits, -1, nil)
	api := proxyAPI("chat", fn.URL, &model.Route{Key: "$default", TwoWay: true})
	api.Stages = []*model.Stage{unthrottledStage()}
	g := startGateway(b, newState(b, api), Options{})
	clients := make([]*benchConn, benchClients)
	for i := range clients {
		clients[i] = dialBench(b, g.url("/chat/test"))
	}
	frame := ws.MaskFrame(ws.NewTextFrame(benchMessage))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	b.ReportAllocs()
	b.ResetTimer()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.nc.SetDeadline(time.Now().Add(time.Minute))
			for next.Add(1) <= int64(b.N) {
				if err := ws.WriteFrame(c.nc, frame); err != nil {
					errs <- err
					return
				}
				h, err := ws.ReadHeader(c.br)
				if err == nil && (h.OpCode != ws.OpText || h.Length != 2) {
					err = io.ErrUnexpectedEOF
				}
				if err == nil {
					_, err = c.br.Discard(int(h.Length))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDefaultRouteAWSProxyOneWay measures messages per second through
// a one-way $default route: benchClients clients send as fast as the
// gateway reads, and the clock stops when the backend has received every
// message.
func BenchmarkDefaultRouteAWSProxyOneWay(b *testing.B) {
	var hits atomic.Int64
	reached := make(chan struct{})
	fn := fixedLambda(b, &hits, int64(b.N), reached)
	api := proxyAPI("chat", fn.URL, &model.Route{Key: "$default"})
	api.Stages = []*model.Stage{unthrottledStage()}
	g := startGateway(b, newState(b, api), Options{})
	clients := make([]*benchConn, benchClients)
	for i := range clients {
		clients[i] = dialBench(b, g.url("/chat/test"))
	}
	frame := ws.MaskFrame(ws.NewTextFrame(benchMessage))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	b.ReportAllocs()
	b.ResetTimer()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.nc.SetDeadline(time.Now().Add(time.Minute))
			bw := bufio.NewWriter(c.nc)
			for next.Add(1) <= int64(b.N) {
				if err := ws.WriteFrame(bw, frame); err != nil {
					errs <- err
					return
				}
			}
			if err := bw.Flush(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	select {
	case <-reached:
	case err := <-errs:
		b.Fatal(err)
	case <-time.After(time.Minute):
		b.Fatalf("the backend received %d of %d messages", hits.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchTwoWay runs the throughput loop of the two-way benchmarks: b.N
// messages, spread over benchClients clients that each send msg and wait
// for a text reply of replyLen bytes, then reports msgs/s.
func benchTwoWay(b *testing.B, url string, msg []byte, replyLen int) {
	b.Helper()
	clients := make([]*benchConn, benchClients)
	for i := range clients {
		clients[i] = dialBench(b, url)
	}
	// The client side allocates nothing per message (one pre-encoded frame
	// written with one write, headers read into a client's own buffer), so
	// allocs/op is the server's cost per message.
	var frame bytes.Buffer
	if err := ws.WriteFrame(&frame, ws.MaskFrame(ws.NewTextFrame(msg))); err != nil {
		b.Fatal(err)
	}
	raw := frame.Bytes()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	b.ReportAllocs()
	b.ResetTimer()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.nc.SetDeadline(time.Now().Add(time.Minute))
			var hdr [ws.MaxHeaderSize]byte
			for next.Add(1) <= int64(b.N) {
				if _, err := c.nc.Write(raw); err != nil {
					errs <- err
					return
				}
				h, err := ws.ReadHeaderBuffer(c.br, hdr[:])
				if err == nil && (h.OpCode != ws.OpText || h.Length != int64(replyLen)) {
					err = io.ErrUnexpectedEOF // not the reply the route sends
				}
				if err == nil {
					_, err = c.br.Discard(int(h.Length))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// unthrottledStage returns a stage "test" whose throttle never refuses:
// the stage default of 10000 messages per second (RT-25) is below what the
// MOCK benchmarks reach, and they measure the per-message cost, not the
// throttle.
func unthrottledStage() *model.Stage {
	rs := model.DefaultRouteSettings()
	rs.ThrottlingRateLimit, rs.ThrottlingBurstLimit = 1e9, 1<<30
	return &model.Stage{Name: "test", DefaultRouteSettings: rs}
}

// BenchmarkMockTwoWayRoute measures messages per second and allocations
// through a two-way MOCK route (RT-43) whose request template gives the
// status and whose response template renders the connection id and a
// member of the message: the gateway's per-message cost with templates and
// no backend, end to end over a socket with benchClients clients.
func BenchmarkMockTwoWayRoute(b *testing.B) {
	reply, err := model.ParseTemplate(`{"action":"pong","id":"${context.connectionId}","data":"${request.body.data}"}`)
	if err != nil {
		b.Fatal(err)
	}
	api := &model.API{
		Name: "chat",
		Integrations: []*model.Integration{{
			Name:             "pong",
			Type:             model.IntegrationMock,
			RequestTemplates: map[string]model.Template{"$default": model.LiteralTemplate(`{"statusCode":200}`)},
			Responses: []*model.IntegrationResponse{{
				Key:       "$default",
				Templates: map[string]model.Template{"$default": reply},
			}},
		}},
		Routes: []*model.Route{{Key: "$default", Integration: "pong", TwoWay: true}},
		Stages: []*model.Stage{unthrottledStage()},
	}
	g := startGateway(b, newState(b, api), Options{})
	// benchMessage's data is "hello, world".
	benchTwoWay(b, g.url("/chat/test"), benchMessage, len(`{"action":"pong","id":"","data":"hello, world"}`)+IDLength)
}

// benchModel is the model BenchmarkValidatedRoute validates against: a
// chat message with nested objects, arrays, patterns, enums and bounds.
const benchModel = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "required": ["action", "room", "message"],
  "properties": {
    "action": {"enum": ["sendmessage"]},
    "room": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"},
    "message": {
      "type": "object",
      "required": ["text", "mentions"],
      "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 4000},
        "mentions": {"type": "array", "maxItems": 20, "items": {"type": "string", "pattern": "^@[a-z0-9_]{1,20}$"}},
        "priority": {"type": "integer", "minimum": 0, "maximum": 9}
      },
      "additionalProperties": false
    },
    "meta": {
      "type": "object",
      "properties": {
        "client": {"type": "string", "maxLength": 64},
        "sentAt": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
      }
    }
  },
  "additionalProperties": false
}`

// validatedMessage returns a message of exactly 1024 bytes that benchModel
// accepts.
func validatedMessage(b *testing.B) []byte {
	b.Helper()
	build := func(text string) []byte {
		return []byte(`{"action":"sendmessage","room":"general-42","message":{"text":"` + text +
			`","mentions":["@alice","@bob_2"],"priority":3},"meta":{"client":"bench/1.0","sentAt":1767225600000,"tags":["a","b","c"]}}`)
	}
	n := 1024 - len(build(""))
	if n < 1 {
		b.Fatalf("the message frame is already %d bytes", len(build("")))
	}
	text := make([]byte, n)
	for i := range text {
		text[i] = 'x'
	}
	msg := build(string(text))
	if len(msg) != 1024 {
		b.Fatalf("message of %d bytes", len(msg))
	}
	return msg
}

// BenchmarkValidatedRoute measures messages per second and allocations
// through a two-way MOCK route whose 1 KB messages are validated against a
// JSON Schema model first (RT-23), end to end over a socket with
// benchClients clients. Compared with BenchmarkMockTwoWayRoute it shows
// what validation adds per message.
func BenchmarkValidatedRoute(b *testing.B) {
	api := &model.API{
		Name:   "chat",
		Models: []*model.Model{{Name: "chatmessage", Schema: benchModel, ContentType: "application/json"}},
		Integrations: []*model.Integration{{
			Name: "ack",
			Type: model.IntegrationMock,
			Responses: []*model.IntegrationResponse{{
				Key:       "$default",
				Templates: map[string]model.Template{"$default": model.LiteralTemplate(`{"ok":true}`)},
			}},
		}},
		Routes: []*model.Route{{
			Key: "$default", Integration: "ack", TwoWay: true,
			ModelSelectionExpression: "$default",
			RequestModels:            map[string]string{"$default": "chatmessage"},
		}},
		Stages: []*model.Stage{unthrottledStage()},
	}
	g := startGateway(b, newState(b, api), Options{})
	benchTwoWay(b, g.url("/chat/test"), validatedMessage(b), len(`{"ok":true}`))
}

// startRawEcho serves a minimal gobwas/ws echo server on 127.0.0.1:0 for
// the benchmarks' physical-limit baseline: one goroutine per connection, a
// 4 KiB buffered reader, each text message written back as one unmasked
// frame with one write. It returns the server's ws:// URL; the listener and
// every connection close at the benchmark's cleanup.
func startRawEcho(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				rawEcho(nc)
			}()
		}
	}()
	b.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, nc := range conns {
			_ = nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "ws://" + ln.Addr().String() + "/"
}

// rawEcho upgrades nc and echoes its messages until it fails. It reuses
// one buffer, so it allocates nothing per message.
func rawEcho(nc net.Conn) {
	if _, err := ws.Upgrade(nc); err != nil {
		return
	}
	br := bufio.NewReaderSize(nc, 4096)
	var (
		hdr [ws.MaxHeaderSize]byte
		out []byte
	)
	for {
		h, err := ws.ReadHeaderBuffer(br, hdr[:])
		if err != nil || h.OpCode == ws.OpClose {
			return
		}
		out = appendFrameHeader(out[:0], h.OpCode, int(h.Length))
		start := len(out)
		out = slices.Grow(out, int(h.Length))[:start+int(h.Length)]
		if _, err := io.ReadFull(br, out[start:]); err != nil {
			return
		}
		ws.Cipher(out[start:], h.Mask, 0)
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// appendFrameHeader appends the header of an unmasked final frame.
func appendFrameHeader(dst []byte, op ws.OpCode, n int) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	}
	return append(dst, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// BenchmarkRawEchoBaseline is the physical-limit baseline of
// BenchmarkMockTwoWayRoute: the same clients and loop against a minimal
// gobwas/ws echo server (startRawEcho). The ratio of the two msgs/s from
// one run is what issue 7's W1 target (≥ 0.6) is judged on.
func BenchmarkRawEchoBaseline(b *testing.B) {
	benchTwoWay(b, startRawEcho(b), benchMessage, len(benchMessage))
}

// mockRouteAPI returns an API "chat" with a stage "test" (unthrottled)
// whose routes all use one MOCK integration that accepts and answers
// nothing.
func mockRouteAPI(keys ...string) *model.API {
	api := &model.API{
		Name:         "chat",
		Integrations: []*model.Integration{{Name: "accept", Type: model.IntegrationMock}},
		Stages:       []*model.Stage{unthrottledStage()},
	}
	for _, k := range keys {
		api.Routes = append(api.Routes, &model.Route{Key: k, Integration: "accept"})
	}
	return api
}

// BenchmarkConnectChurn measures connections per second through a stage
// with MOCK $connect and $disconnect routes (issue 7's W6): benchClients
// clients each dial, complete the handshake and drop the connection, b.N
// times in all; the clock stops when the gateway has run every
// $disconnect.
func BenchmarkConnectChurn(b *testing.B) {
	g := startGateway(b, newState(b, mockRouteAPI("$connect", "$disconnect", "$default")), Options{
		NewConnectionsPerIP: 1 << 30,
	})
	url := g.url("/chat/test")
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	b.ReportAllocs()
	b.ResetTimer()
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := ws.Dialer{Timeout: testTimeout}
			for next.Add(1) <= int64(b.N) {
				nc, br, _, err := d.Dial(context.Background(), url)
				if err != nil {
					errs <- err
					return
				}
				if br != nil {
					ws.PutReader(br)
				}
				_ = nc.Close()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	waitFor(b, "every $disconnect", func() bool { return g.srv.conns.registered() == 0 })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}

// postConns is how many connections BenchmarkConnectionsPost posts to.
const postConns = 100

// BenchmarkConnectionsPost measures @connections POST calls per second
// (issue 7's W5): benchClients keep-alive HTTP clients post a small
// message to postConns connections in turn, whose clients read them; the
// clock stops when every message has arrived.
func BenchmarkConnectionsPost(b *testing.B) {
	g := startGateway(b, newState(b, mockRouteAPI("$default")), Options{})
	conns := make([]*benchConn, postConns)
	ids := make([]string, postConns)
	for i := range conns {
		conns[i] = dialBench(b, g.url("/chat/test"))
	}
	waitFor(b, "connections registered", func() bool { return g.srv.conns.registered() == postConns })
	i := 0
	g.srv.conns.each(func(c *conn) { ids[i] = c.id; i++ })
	// Connection ids are collected from the registry in a different order
	// than conns: every client reads whatever arrives for it.
	var received atomic.Int64
	var readers sync.WaitGroup
	for _, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var hdr [ws.MaxHeaderSize]byte
			for {
				h, err := ws.ReadHeaderBuffer(c.br, hdr[:])
				if err != nil {
					return
				}
				if _, err := c.br.Discard(int(h.Length)); err != nil {
					return
				}
				received.Add(1)
			}
		}()
	}
	b.Cleanup(func() {
		for _, c := range conns {
			_ = c.nc.Close()
		}
		readers.Wait()
	})
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: testTimeout}
	payload := []byte(`{"type":"note","text":"hello"}`)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	b.ReportAllocs()
	b.ResetTimer()
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				resp, err := client.Post(g.httpURL("/test/@connections/"+ids[n%postConns]), "application/json", bytes.NewReader(payload))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = io.ErrUnexpectedEOF
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	waitFor(b, "every message delivered", func() bool { return received.Load() == int64(b.N) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// TestInlineReplyBackpressureRT24 checks the MOCK fast path when the
// client's socket does not take a reply at once (RT-24, RT-26): the
// reader's non-blocking write leaves part of a batch, which the writer
// goroutine must finish before anything else. A client with a tiny receive
// buffer sends many messages without reading, then reads every reply,
// which must arrive whole and in order.
func TestInlineReplyBackpressureRT24(t *testing.T) {
	reply, err := model.ParseTemplate(`${request.body.data}`)
	if err != nil {
		t.Fatal(err)
	}
	api := &model.API{
		Name: "chat",
		Integrations: []*model.Integration{{
			Name: "echo",
			Type: model.IntegrationMock,
			Responses: []*model.IntegrationResponse{{
				Key:       "$default",
				Templates: map[string]model.Template{"$default": reply},
			}},
		}},
		Routes: []*model.Route{{Key: "$default", Integration: "echo", TwoWay: true}},
		Stages: []*model.Stage{unthrottledStage()},
	}
	g := startGateway(t, newState(t, api), Options{})
	d := ws.Dialer{Timeout: testTimeout, NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
			if err != nil {
				return err
			}
			return serr
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	nc, br, _, err := d.Dial(context.Background(), g.url("/chat/test"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if br == nil {
		br = bufio.NewReader(nc)
	}
	// The gateway's side of the socket gets a small send buffer too, so
	// that replies soon stop fitting.
	var raw syscall.RawConn
	waitFor(t, "connection attached", func() bool {
		g.srv.conns.each(func(c *conn) {
			c.mu.Lock()
			if c.nc != nil {
				raw = c.raw
				if raw == nil {
					t.Error("the connection has no raw socket: the inline write path is not in use")
				}
			}
			c.mu.Unlock()
		})
		return raw != nil || t.Failed()
	})
	if t.Failed() {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096)
	})
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	const messages = 400
	pad := strings.Repeat("x", 1000)
	want := func(i int) string { return fmt.Sprintf("reply-%04d-%s", i, pad) }
	var frames bytes.Buffer
	for i := range messages {
		msg := []byte(`{"data":"` + want(i) + `"}`)
		if err := ws.WriteFrame(&frames, ws.MaskFrame(ws.NewTextFrame(msg))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nc.Write(frames.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i := range messages {
		h, err := ws.ReadHeader(br)
		if err != nil {
			t.Fatalf("RT-24: reply %d: %v", i, err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("RT-24: reply %d: %v", i, err)
		}
		if h.OpCode != ws.OpText || !h.Fin || string(p) != want(i) {
			t.Fatalf("RT-24: reply %d is %v fin=%v %.20q..., want text %.20q...", i, h.OpCode, h.Fin, p, want(i))
		}
	}
}
