package runtime

// Protocol conformance (issue 6): a replay of the server cases of the
// Autobahn TestSuite (its "fuzzingclient" mode), which cannot run on these
// machines, against a real gateway. Cases keep Autobahn's numbers and
// groups: 1 framing, 2 pings/pongs, 3 reserved bits, 4 opcodes, 5
// fragmentation, 6 UTF-8, 7 close handling, 9 limits, 10 automatic
// fragmentation, 12/13 compression.
//
// The gateway is not an echo server: its stage's $default route is a
// two-way MOCK integration whose request template asks for a 200 and whose
// response template is ${request.raw_body}, so a text message comes back
// unchanged. Where the SPEC deliberately differs from a plain echo server
// (binary messages refused with 1003, frames over 32768 bytes and messages
// over 131072 bytes closed with 1009: RT-20; the close codes and reasons of
// D-34; the protocol errors of D-37), a case asserts the SPEC's behaviour
// and is marked adapted. Autobahn grades some outcomes NON-STRICT (an echo
// lost because the connection failed right after, a UTF-8 error found at
// the end of the message rather than at the offending fragment); cases
// that accept such an outcome are marked lenient, and the outcome a probe
// observed is counted as non-strict.
//
// Every case runs on its own connection, in parallel with the others,
// against one gateway whose CloseTimeout is far longer than testTimeout:
// a TCP close seen within testTimeout comes from the close handshake, never
// from the gateway's timer, which is Autobahn's "the server closes the TCP
// connection promptly" check. Every frame the gateway sends is checked to
// be unmasked and to have no RSV bit set (no extension is ever negotiated).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// abCloseTimeout is the gateway's CloseTimeout in these tests.
const abCloseTimeout = 20 * testTimeout

// Chop modes of abConn.send: how the bytes of a case reach the socket.
const (
	abOneChop   = 0  // all frames in one write
	abFrameWise = -1 // one write per frame (Autobahn's sync mode)
	abOctetWise = 1  // one write per byte
)

// Opcodes as Autobahn numbers them, including reserved ones.
const (
	abOpCont  = 0x0
	abOpText  = 0x1
	abOpBin   = 0x2
	abOpClose = 0x8
	abOpPing  = 0x9
	abOpPong  = 0xa
)

// abHello is the small text message of many cases.
const abHello = "Hello, world!"

// abKosme is "κόσμε", Autobahn's multi-byte UTF-8 sample.
const abKosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

// abGatewayReasons are the reasons D-34 gives the close codes the gateway
// sends when it fails a connection.
var abGatewayReasons = map[int]string{
	1002: "Protocol error",
	1003: "Unsupported data",
	1007: "Invalid frame payload data",
	1009: "Message too big",
}

// abAutobahnCases is how many cases the current Autobahn TestSuite has in
// each group it runs against a server.
var abAutobahnCases = map[string]int{
	"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "12": 90, "13": 126,
}

// abGroups orders the groups in the summary.
var abGroups = []string{"1", "2", "3", "4", "5", "6", "7", "9", "10", "12", "13"}

// abCase is one Autobahn case (or, with extra, a boundary check of the
// gateway's own limits that Autobahn has no case for).
type abCase struct {
	id string
	// adapted names the SPEC rule whose behaviour the case asserts instead
	// of Autobahn's expectation.
	adapted string
	// lenient is set when the case accepts an outcome Autobahn grades
	// NON-STRICT or INFORMATIONAL.
	lenient bool
	// extra marks a check that is not an Autobahn case.
	extra bool
	// na explains why the Autobahn cases of this row do not apply; the row
	// then checks that the gateway refuses what they need.
	na string
	// covers is how many Autobahn cases the row stands for (default 1).
	covers int
	// bug, when set, skips the case: it describes a gateway defect.
	bug string
	run func(r *abRun)
}

func (c abCase) group() string {
	g, _, _ := strings.Cut(c.id, ".")
	return g
}

func (c abCase) count() int {
	if c.covers == 0 {
		return 1
	}
	return c.covers
}

// abRun is one case being run.
type abRun struct {
	t *testing.T
	g *testGateway
	// nonStrict is set when the gateway's behaviour was Autobahn's
	// NON-STRICT outcome.
	nonStrict bool
}

// dial opens a connection to the echo stage.
func (r *abRun) dial() *abConn {
	r.t.Helper()
	return &abConn{t: r.t, ws: dial(r.t, r.g.url("/echo/test"), nil)}
}

// dialOffer opens a connection whose handshake offers the extensions in
// offer, and returns the Sec-WebSocket-Extensions header of the 101.
func (r *abRun) dialOffer(offer string) (*abConn, string) {
	r.t.Helper()
	var accepted string
	d := ws.Dialer{
		Timeout: testTimeout,
		Header:  ws.HandshakeHeaderHTTP(http.Header{"Sec-WebSocket-Extensions": {offer}}),
		OnHeader: func(key, value []byte) error {
			if strings.EqualFold(string(key), "Sec-WebSocket-Extensions") {
				accepted = string(value)
			}
			return nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, r.g.url("/echo/test"))
	if err != nil {
		r.t.Fatalf("dial with extension offer %q: %v", offer, err)
	}
	r.t.Cleanup(func() { _ = conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &abConn{t: r.t, ws: &wsClient{t: r.t, conn: conn, br: br}}, accepted
}

// abConn is a client connection that sends raw bytes and checks the
// gateway's frames one by one.
type abConn struct {
	t  *testing.T
	ws *wsClient
}

// abFrame encodes one masked client frame. rsv holds the three RSV bits as
// Autobahn numbers them (4 is RSV1, 1 is RSV3); op may be reserved.
func abFrame(fin bool, rsv, op byte, payload string) []byte {
	b0 := rsv<<4 | op&0x0f
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, 0x80|byte(n))
	case n <= 0xffff:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, mask[:]...)
	start := len(out)
	out = append(out, payload...)
	for i := range len(payload) {
		out[start+i] ^= mask[i%4]
	}
	return out
}

func abText(p string) []byte                    { return abFrame(true, 0, abOpText, p) }
func abData(op byte, fin bool, p string) []byte { return abFrame(fin, 0, op, p) }
func abPing(p string) []byte                    { return abFrame(true, 0, abOpPing, p) }
func abPong(p string) []byte                    { return abFrame(true, 0, abOpPong, p) }

// abCloseFrame encodes a close frame with code and reason; code 0 means no
// payload at all.
func abCloseFrame(code int, reason string) []byte {
	if code == 0 {
		return abFrame(true, 0, abOpClose, "")
	}
	return abFrame(true, 0, abOpClose, string(binary.BigEndian.AppendUint16(nil, uint16(code)))+reason)
}

// abFragments splits p into frames of at most size bytes: the first with
// op, the others continuations. An empty p is one empty frame.
func abFragments(op byte, p string, size int) [][]byte {
	var frames [][]byte
	for {
		n := min(size, len(p))
		fin := n == len(p)
		frames = append(frames, abData(op, fin, p[:n]))
		p, op = p[n:], abOpCont
		if fin {
			return frames
		}
	}
}

// send writes frames as chop says.
func (c *abConn) send(chop int, frames ...[]byte) {
	c.t.Helper()
	if chop == abFrameWise {
		for _, f := range frames {
			c.write(f)
		}
		return
	}
	b := bytes.Join(frames, nil)
	if chop == abOneChop {
		c.write(b)
		return
	}
	for len(b) > 0 {
		n := min(chop, len(b))
		c.write(b[:n])
		b = b[n:]
	}
}

func (c *abConn) write(b []byte) {
	c.t.Helper()
	_ = c.ws.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := c.ws.conn.Write(b); err != nil {
		c.t.Fatalf("write %d bytes: %v", len(b), err)
	}
}

// abRecv is a frame the gateway sent.
type abRecv struct {
	op      ws.OpCode
	fin     bool
	payload []byte
}

func (f abRecv) String() string {
	if f.op == ws.OpClose {
		code, reason := ws.ParseCloseFrameData(f.payload)
		return fmt.Sprintf("close %d %q", code, reason)
	}
	p := f.payload
	if len(p) > 40 {
		p = p[:40]
	}
	return fmt.Sprintf("frame op=%d fin=%v len=%d %q", f.op, f.fin, len(f.payload), p)
}

// readFrame reads the gateway's next frame, checking that it is unmasked
// and has no RSV bit set (RFC 6455 5.1, 5.2: no extension was negotiated).
func (c *abConn) readFrame() (abRecv, error) {
	_ = c.ws.conn.SetReadDeadline(time.Now().Add(testTimeout))
	h, err := ws.ReadHeader(c.ws.br)
	if err != nil {
		return abRecv{}, err
	}
	if h.Masked || h.Rsv != 0 {
		c.t.Fatalf("RFC 6455 5.1/5.2: the gateway sent a frame with mask=%v rsv=%d", h.Masked, h.Rsv)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.ws.br, p); err != nil {
		return abRecv{}, err
	}
	return abRecv{op: h.OpCode, fin: h.Fin, payload: p}, nil
}

func (c *abConn) mustRead(what string) abRecv {
	c.t.Helper()
	f, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", what, err)
	}
	return f
}

// message reads the rest of a data message whose first frame is f:
// continuation frames only, nothing interleaved.
func (c *abConn) message(f abRecv) []byte {
	c.t.Helper()
	msg := f.payload
	for !f.fin {
		f = c.mustRead("a continuation frame")
		if f.op != ws.OpContinuation {
			c.t.Fatalf("RFC 6455 5.4: got %v inside a fragmented message", f)
		}
		msg = append(msg, f.payload...)
	}
	return msg
}

// echo checks that the next message is the text want.
func (c *abConn) echo(want string) {
	c.t.Helper()
	f := c.mustRead("the echo")
	if f.op != ws.OpText {
		c.t.Fatalf("RT-24: got %v, want the echo of %d bytes", f, len(want))
	}
	if got := c.message(f); string(got) != want {
		c.t.Fatalf("RT-24: the echo has %d bytes %.40q, want %d bytes %.40q", len(got), got, len(want), want)
	}
}

// pong checks that the next frame is a pong with payload want.
func (c *abConn) pong(want string) {
	c.t.Helper()
	f := c.mustRead("a pong")
	if f.op != ws.OpPong || string(f.payload) != want {
		c.t.Fatalf("RT-20: got %v, want a pong %q", f, want)
	}
}

// failed checks that the gateway fails the connection with code and its
// D-34 reason, with nothing sent before; the client answers the close
// frame and the gateway closes the TCP connection promptly.
func (c *abConn) failed(code int) {
	c.t.Helper()
	c.failedAfter(code)
}

// failedAfter is failed, where the gateway may first send the echo of each
// of optional (in any order, each at most once): the echo of a message
// accepted before the failure, which Autobahn grades NON-STRICT when lost.
func (c *abConn) failedAfter(code int, optional ...string) {
	c.t.Helper()
	c.gatewayClose(code, optional)
	// The reply may fail: after a frame it will not drain (one over 32768
	// bytes), the gateway drops the connection without waiting for it.
	_ = c.ws.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	_, _ = c.ws.conn.Write(abCloseFrame(code, ""))
	c.eof()
}

// failedOnClose checks that the gateway answers a malformed close frame
// with code and its D-34 reason, and closes the TCP connection promptly
// without waiting for another close frame (the client has sent its own).
func (c *abConn) failedOnClose(code int) {
	c.t.Helper()
	c.gatewayClose(code, nil)
	c.eof()
}

func (c *abConn) gatewayClose(code int, optional []string) {
	c.t.Helper()
	for {
		f := c.mustRead(fmt.Sprintf("close %d", code))
		switch f.op {
		case ws.OpClose:
			gotCode, gotReason := ws.ParseCloseFrameData(f.payload)
			if int(gotCode) != code || gotReason != abGatewayReasons[code] {
				c.t.Fatalf("D-34: got close %d %q, want %d %q", gotCode, gotReason, code, abGatewayReasons[code])
			}
			return
		case ws.OpText:
			msg := string(c.message(f))
			i := abIndex(optional, msg)
			if i < 0 {
				c.t.Fatalf("RT-20/D-37: got the message %.40q before close %d; none was expected", msg, code)
			}
			optional = append(optional[:i:i], optional[i+1:]...)
		default:
			c.t.Fatalf("RT-20/D-37: got %v, want close %d", f, code)
		}
	}
}

func abIndex(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// closeNormally runs the client-initiated close handshake with 1000.
func (c *abConn) closeNormally() {
	c.t.Helper()
	c.send(abOneChop, abCloseFrame(1000, ""))
	c.closeEcho(1000)
}

// closeEcho checks that the next frame echoes the client's close code
// (D-34: the code, no reason; no payload when the client sent none), then
// that the TCP connection ends.
func (c *abConn) closeEcho(code int) {
	c.t.Helper()
	f := c.mustRead("the close echo")
	want := ws.NewCloseFrameBody(ws.StatusCode(code), "")
	if code == 0 {
		want = nil
	}
	if f.op != ws.OpClose || !bytes.Equal(f.payload, want) {
		c.t.Fatalf("D-34: got %v, want a close frame echoing %d with no reason (payload %x)", f, code, want)
	}
	c.eof()
}

// eof checks that the gateway closes the TCP connection, sending nothing
// more, within testTimeout (which abCloseTimeout far exceeds).
func (c *abConn) eof() {
	c.t.Helper()
	f, err := c.readFrame()
	if err == nil {
		c.t.Fatalf("RFC 6455 5.5.1: the gateway sent %v after its close frame", f)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("RFC 6455 7.1.1/D-34: the gateway did not close the TCP connection within %s of the close handshake", testTimeout)
	}
}

// abConformanceGateway starts the gateway every case runs against: stage
// "test" of API "echo", whose $default route is a two-way MOCK that
// returns the message, with no throttle in the way.
func abConformanceGateway(t *testing.T) *testGateway {
	t.Helper()
	reply, err := model.ParseTemplate("${request.raw_body}")
	if err != nil {
		t.Fatal(err)
	}
	rs := model.DefaultRouteSettings()
	rs.ThrottlingRateLimit, rs.ThrottlingBurstLimit = 1e9, 1<<30
	api := &model.API{
		Name: "echo",
		Integrations: []*model.Integration{{
			Name:             "echo",
			Type:             model.IntegrationMock,
			RequestTemplates: map[string]model.Template{model.RouteDefault: model.LiteralTemplate(`{"statusCode":200}`)},
			Responses: []*model.IntegrationResponse{{
				Key:       model.RouteDefault,
				Templates: map[string]model.Template{model.RouteDefault: reply},
			}},
		}},
		Routes: []*model.Route{{Key: model.RouteDefault, Integration: "echo", TwoWay: true}},
		Stages: []*model.Stage{{Name: "test", DefaultRouteSettings: rs}},
	}
	return startGateway(t, newState(t, api), Options{CloseTimeout: abCloseTimeout})
}

// abOutcome is how a case ended.
type abOutcome struct {
	passed, skipped, nonStrict bool
}

// TestConformance replays the Autobahn TestSuite's server cases (see the
// file comment) and logs a summary per group.
func TestConformance(t *testing.T) {
	g := abConformanceGateway(t)
	cases := abCases()
	var (
		mu       sync.Mutex
		outcomes = map[string]abOutcome{}
	)
	t.Run("case", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.id, func(t *testing.T) {
				t.Parallel()
				r := &abRun{t: t, g: g}
				defer func() {
					mu.Lock()
					outcomes[tc.id] = abOutcome{passed: !t.Failed() && !t.Skipped(), skipped: t.Skipped(), nonStrict: r.nonStrict}
					mu.Unlock()
				}()
				if tc.bug != "" {
					t.Skip("BUG: " + tc.bug)
				}
				tc.run(r)
			})
		}
	})
	abLogSummary(t, cases, outcomes)
}

// TestConformanceSummary checks the case table itself, without a gateway:
// unique case numbers, every Autobahn server case accounted for exactly
// once per group, and the UTF-8 classification of group 6 agreeing with
// Autobahn's. It logs how the table maps onto Autobahn's numbering.
func TestConformanceSummary(t *testing.T) {
	cases := abCases()
	seen := map[string]bool{}
	counts := map[string]int{}
	adapted := map[string]int{}
	lenient := map[string]int{}
	na := map[string]int{}
	extras := map[string]int{}
	for _, c := range cases {
		if seen[c.id] {
			t.Errorf("case %s appears twice", c.id)
		}
		seen[c.id] = true
		if c.extra {
			extras[c.group()]++
			continue
		}
		counts[c.group()] += c.count()
		switch {
		case c.na != "":
			na[c.group()] += c.count()
		case c.adapted != "":
			adapted[c.group()]++
		}
		if c.lenient {
			lenient[c.group()]++
		}
	}
	for _, grp := range abGroups {
		if counts[grp] != abAutobahnCases[grp] {
			t.Errorf("group %s: the table covers %d Autobahn cases, Autobahn has %d", grp, counts[grp], abAutobahnCases[grp])
		}
	}
	for _, s := range abUTF8Sequences() {
		if utf8.ValidString(s.payload) != s.valid {
			t.Errorf("case %s: %x is listed as valid=%v, Go's decoder says %v", s.id, s.payload, s.valid, !s.valid)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Autobahn server cases covered by TestConformance:\n%-6s %9s %8s %8s %8s %7s\n", "group", "autobahn", "adapted", "lenient", "n/a", "extras")
	for _, grp := range abGroups {
		fmt.Fprintf(&b, "%-6s %9d %8d %8d %8d %7d\n", grp+".x", counts[grp], adapted[grp], lenient[grp], na[grp], extras[grp])
	}
	t.Log(b.String())
}

// abLogSummary logs, per group, how many Autobahn cases were replayed and
// passed, how many of those were adapted, lenient or observed non-strict,
// skipped as bugs, not applicable, and the gateway-specific extras.
func abLogSummary(t *testing.T, cases []abCase, outcomes map[string]abOutcome) {
	type row struct{ total, replayed, passed, adapted, lenient, nonStrict, bugs, failed, na, extras, extrasPassed int }
	notRun := 0
	rows := map[string]*row{}
	for _, grp := range abGroups {
		rows[grp] = &row{}
	}
	var failed []string
	for _, c := range cases {
		r := rows[c.group()]
		if !c.extra {
			r.total += c.count()
		}
		o, ok := outcomes[c.id]
		if !ok {
			notRun++ // filtered out by -run
			continue
		}
		if c.extra {
			r.extras++
			if o.passed {
				r.extrasPassed++
			}
			if !o.passed && !o.skipped {
				failed = append(failed, c.id)
			}
			continue
		}
		switch {
		case c.na != "":
			r.na += c.count()
		default:
			r.replayed++
		}
		switch {
		case o.skipped:
			r.bugs++
		case !o.passed:
			r.failed++
			failed = append(failed, c.id)
		case c.na == "":
			r.passed++
			if c.adapted != "" {
				r.adapted++
			}
			if c.lenient {
				r.lenient++
			}
			if o.nonStrict {
				r.nonStrict++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Autobahn conformance summary (replayed = cases run; passed includes adapted and lenient; n/a = not applicable, checked as refused):\n")
	fmt.Fprintf(&b, "%-6s %8s %8s %6s %7s %7s %10s %8s %6s %5s %7s\n", "group", "autobahn", "replayed", "passed", "adapted", "lenient", "non-strict", "bug-skip", "failed", "n/a", "extras")
	var sum row
	for _, grp := range abGroups {
		r := rows[grp]
		fmt.Fprintf(&b, "%-6s %8d %8d %6d %7d %7d %10d %8d %6d %5d %3d/%-3d\n", grp+".x", r.total, r.replayed, r.passed, r.adapted, r.lenient, r.nonStrict, r.bugs, r.failed, r.na, r.extrasPassed, r.extras)
		sum.total += r.total
		sum.replayed += r.replayed
		sum.passed += r.passed
		sum.adapted += r.adapted
		sum.lenient += r.lenient
		sum.nonStrict += r.nonStrict
		sum.bugs += r.bugs
		sum.failed += r.failed
		sum.na += r.na
		sum.extras += r.extras
		sum.extrasPassed += r.extrasPassed
	}
	fmt.Fprintf(&b, "%-6s %8d %8d %6d %7d %7d %10d %8d %6d %5d %3d/%-3d\n", "all", sum.total, sum.replayed, sum.passed, sum.adapted, sum.lenient, sum.nonStrict, sum.bugs, sum.failed, sum.na, sum.extrasPassed, sum.extras)
	if notRun > 0 {
		fmt.Fprintf(&b, "not run (filtered out by -run): %d rows\n", notRun)
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		fmt.Fprintf(&b, "failed: %s\n", strings.Join(failed, " "))
	}
	t.Log(b.String())
}

// abCases returns every case, in Autobahn's order.
func abCases() []abCase {
	var cs []abCase
	cs = append(cs, abFramingCases()...)
	cs = append(cs, abPingCases()...)
	cs = append(cs, abReservedBitCases()...)
	cs = append(cs, abOpcodeCases()...)
	cs = append(cs, abFragmentationCases()...)
	cs = append(cs, abUTF8Cases()...)
	cs = append(cs, abCloseCases()...)
	cs = append(cs, abLimitCases()...)
	cs = append(cs, abAutoFragmentationCases()...)
	cs = append(cs, abCompressionCases()...)
	return cs
}

// Adaptation notes.
const (
	abBigFrame = "RT-20: a frame over 32768 bytes is closed with 1009"
	abBinary   = "RT-20: a binary frame is closed with 1003 (a binary frame over 32768 bytes with 1009: the size is checked at the header)"
	abScaled   = "RT-20: sizes scaled to the 32768-byte frame and 131072-byte message limits"
)

// abEchoCase sends frames as chop says and expects want back, then closes
// normally.
func abEchoCase(id string, chop int, want string, frames ...[]byte) abCase {
	return abCase{id: id, run: func(r *abRun) {
		c := r.dial()
		c.send(chop, frames...)
		c.echo(want)
		c.closeNormally()
	}}
}

// abFailCase sends frames as chop says and expects the gateway to fail
// the connection with code.
func abFailCase(id string, code int, chop int, frames ...[]byte) abCase {
	return abCase{id: id, run: func(r *abRun) {
		c := r.dial()
		c.send(chop, frames...)
		c.failed(code)
	}}
}

// abFramingCases are group 1: text and binary messages of the sizes around
// the 7-bit, 16-bit and 64-bit length forms, and a chopped large frame.
func abFramingCases() []abCase {
	var cs []abCase
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for i, n := range sizes {
		id := fmt.Sprintf("1.1.%d", i+1)
		p := strings.Repeat("*", n)
		if n <= MaxFrameSize {
			cs = append(cs, abEchoCase(id, abOneChop, p, abText(p)))
			continue
		}
		c := abFailCase(id, 1009, abOneChop, abText(p))
		c.adapted = abBigFrame
		cs = append(cs, c)
	}
	c := abFailCase("1.1.8", 1009, 997, abText(strings.Repeat("*", 65536)))
	c.adapted = abBigFrame
	cs = append(cs, c)
	for i, n := range sizes {
		code := 1003
		if n > MaxFrameSize {
			code = 1009
		}
		c := abFailCase(fmt.Sprintf("1.2.%d", i+1), code, abOneChop, abData(abOpBin, true, strings.Repeat("\xfe", n)))
		c.adapted = abBinary
		cs = append(cs, c)
	}
	c = abFailCase("1.2.8", 1009, 997, abData(abOpBin, true, strings.Repeat("\xfe", 65536)))
	c.adapted = abBinary
	cs = append(cs, c)

	// Extras: the limits of RT-20 themselves.
	frame := strings.Repeat("*", MaxFrameSize)
	msg := strings.Repeat("m", MaxMessageSize)
	extras := []abCase{
		abEchoCase("1.x+frame-32768", abOneChop, frame, abText(frame)),
		abFailCase("1.x+frame-32769", 1009, abOneChop, abText(frame+"*")),
		abEchoCase("1.x+65535-in-32768-frames", abOneChop, msg[:65535], abFragments(abOpText, msg[:65535], MaxFrameSize)...),
		abEchoCase("1.x+65536-in-32768-frames-chop-997", 997, msg[:65536], abFragments(abOpText, msg[:65536], MaxFrameSize)...),
		abEchoCase("1.x+message-131072", abOneChop, msg, abFragments(abOpText, msg, MaxFrameSize)...),
		abFailCase("1.x+message-131073", 1009, abOneChop, abFragments(abOpText, msg+"m", MaxFrameSize)...),
	}
	for i := range extras {
		extras[i].extra = true
	}
	return append(cs, extras...)
}

// abPingCases are group 2.
func abPingCases() []abCase {
	pongCase := func(id string, chop int, payload string) abCase {
		return abCase{id: id, run: func(r *abRun) {
			c := r.dial()
			c.send(chop, abPing(payload))
			c.pong(payload)
			c.closeNormally()
		}}
	}
	unsolicited := func(id, payload string) abCase {
		return abCase{id: id, run: func(r *abRun) {
			c := r.dial()
			// The close echo must be the next frame: nothing answers a pong.
			c.send(abOneChop, abPong(payload), abCloseFrame(1000, ""))
			c.closeEcho(1000)
		}}
	}
	tenPings := func(id string, chop int) abCase {
		return abCase{id: id, run: func(r *abRun) {
			c := r.dial()
			var frames [][]byte
			for i := range 10 {
				frames = append(frames, abPing(fmt.Sprintf("payload-%d", i)))
			}
			c.send(chop, frames...)
			for i := range 10 {
				c.pong(fmt.Sprintf("payload-%d", i))
			}
			c.closeNormally()
		}}
	}
	return []abCase{
		pongCase("2.1", abOneChop, ""),
		pongCase("2.2", abOneChop, abHello),
		pongCase("2.3", abOneChop, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
		pongCase("2.4", abOneChop, strings.Repeat("\xfe", 125)),
		abFailCase("2.5", 1002, abOneChop, abPing(strings.Repeat("\xfe", 126))),
		pongCase("2.6", abOctetWise, strings.Repeat("\xfe", 125)),
		unsolicited("2.7", ""),
		unsolicited("2.8", "unsolicited pong payload"),
		{id: "2.9", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abPong("unsolicited pong payload"), abPing("ping payload"))
			c.pong("ping payload")
			c.closeNormally()
		}},
		tenPings("2.10", abOneChop),
		tenPings("2.11", abOctetWise),
	}
}

// abAfterEcho is a case that sends a text message, then a bad frame, then
// a ping, and expects close 1002 with no pong. In one chop or octet-wise,
// the echo may be lost (the failure closes the connection while the
// integration runs): Autobahn's NON-STRICT. Frame-wise (Autobahn's sync),
// the client waits for the echo before sending the bad frame.
func abAfterEcho(id string, chop int, bad []byte) abCase {
	c := abCase{id: id, lenient: chop != abFrameWise, run: func(r *abRun) {
		c := r.dial()
		if chop == abFrameWise {
			c.send(chop, abText(abHello))
			c.echo(abHello)
			c.send(chop, bad, abPing(""))
			c.failed(1002)
			return
		}
		c.send(chop, abText(abHello), bad, abPing(""))
		c.failedAfter(1002, abHello)
	}}
	return c
}

// abReservedBitCases are group 3 (D-37: RSV bits without an extension).
func abReservedBitCases() []abCase {
	return []abCase{
		abFailCase("3.1", 1002, abOneChop, abFrame(true, 1, abOpText, abHello)),
		abAfterEcho("3.2", abOneChop, abFrame(true, 2, abOpText, abHello)),
		abAfterEcho("3.3", abFrameWise, abFrame(true, 3, abOpText, abHello)),
		abAfterEcho("3.4", abOctetWise, abFrame(true, 4, abOpText, abHello)),
		abFailCase("3.5", 1002, abOneChop, abFrame(true, 5, abOpBin, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff")),
		abFailCase("3.6", 1002, abOneChop, abFrame(true, 6, abOpPing, abHello)),
		{id: "3.7", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abFrame(true, 7, abOpClose, string(ws.NewCloseFrameBody(1000, ""))))
			c.failedOnClose(1002)
		}},
	}
}

// abOpcodeCases are group 4 (D-37: reserved opcodes).
func abOpcodeCases() []abCase {
	var cs []abCase
	for i, op := range []byte{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		sub := 1
		if op >= 8 {
			sub = 2
		}
		id := fmt.Sprintf("4.%d.%d", sub, i%5+1)
		payload := ""
		if i%5 != 0 && i%5 != 2 {
			payload = "reserved opcode payload"
		}
		if i%5 < 2 {
			cs = append(cs, abFailCase(id, 1002, abOneChop, abFrame(true, 0, op, payload)))
		} else {
			cs = append(cs, abAfterEcho(id, abOneChop, abFrame(true, 0, op, payload)))
		}
	}
	return cs
}

// abFragmentationCases are group 5.
func abFragmentationCases() []abCase {
	two := [][]byte{abData(abOpText, false, "fragment1"), abData(abOpCont, true, "fragment2")}
	withPing := func(id string, chop int) abCase {
		return abCase{id: id, run: func(r *abRun) {
			c := r.dial()
			c.send(chop, two[0], abPing("ping payload"), two[1])
			c.pong("ping payload")
			c.echo("fragment1fragment2")
			c.closeNormally()
		}}
	}
	nothingToContinue := func(id string, fin bool, chop int) abCase {
		return abFailCase(id, 1002, chop, abData(abOpCont, fin, "non-continuation payload"), abText(abHello))
	}
	repeated := func(id string, fin bool) abCase {
		var frames [][]byte
		for range 2 {
			frames = append(frames, abData(abOpCont, fin, "fragment1"), abData(abOpText, false, "fragment2"), abData(abOpCont, true, "fragment3"))
		}
		return abFailCase(id, 1002, abOneChop, frames...)
	}
	fivePings := func(id string, chop int) abCase {
		return abCase{id: id, run: func(r *abRun) {
			c := r.dial()
			c.send(chop, abData(abOpText, false, "fragment1"), abData(abOpCont, false, "fragment2"), abPing("pongme 1!"))
			// Autobahn pauses a second here; the first pong must come
			// before the message is complete.
			c.pong("pongme 1!")
			c.send(chop, abData(abOpCont, false, "fragment3"), abData(abOpCont, false, "fragment4"), abPing("pongme 2!"), abData(abOpCont, true, "fragment5"))
			c.pong("pongme 2!")
			c.echo("fragment1fragment2fragment3fragment4fragment5")
			c.closeNormally()
		}}
	}
	return []abCase{
		abFailCase("5.1", 1002, abOneChop, abData(abOpPing, false, "fragment1"), abData(abOpCont, true, "fragment2")),
		abFailCase("5.2", 1002, abOneChop, abData(abOpPong, false, "fragment1"), abData(abOpCont, true, "fragment2")),
		abEchoCase("5.3", abOneChop, "fragment1fragment2", two...),
		abEchoCase("5.4", abFrameWise, "fragment1fragment2", two...),
		abEchoCase("5.5", abOctetWise, "fragment1fragment2", two...),
		withPing("5.6", abOneChop),
		withPing("5.7", abFrameWise),
		withPing("5.8", abOctetWise),
		nothingToContinue("5.9", true, abOneChop),
		nothingToContinue("5.10", true, abFrameWise),
		nothingToContinue("5.11", true, abOctetWise),
		nothingToContinue("5.12", false, abOneChop),
		nothingToContinue("5.13", false, abFrameWise),
		nothingToContinue("5.14", false, abOctetWise),
		{id: "5.15", lenient: true, run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, two[0], two[1], abData(abOpCont, false, "fragment3"), abText("fragment4"))
			c.failedAfter(1002, "fragment1fragment2")
		}},
		repeated("5.16", false),
		repeated("5.17", true),
		abFailCase("5.18", 1002, abOneChop, abData(abOpText, false, "fragment1"), abData(abOpText, true, "fragment2")),
		fivePings("5.19", abOneChop),
		fivePings("5.20", abFrameWise),
	}
}

// abUTF8Sequence is one payload of Autobahn's cases 6.5 to 6.23 (from
// Markus Kuhn's UTF-8 decoder stress test).
type abUTF8Sequence struct {
	id      string
	valid   bool
	payload string
}

// abUTF8Sequences returns the payloads of cases 6.5.1 to 6.23.7.
func abUTF8Sequences() []abUTF8Sequence {
	var seqs []abUTF8Sequence
	sub := 5
	add := func(valid bool, payloads ...string) {
		for i, p := range payloads {
			seqs = append(seqs, abUTF8Sequence{id: fmt.Sprintf("6.%d.%d", sub, i+1), valid: valid, payload: p})
		}
		sub++
	}
	// 6.5 some valid UTF-8 sequences.
	add(true, "hello\x24world", "hello\xc2\xa2world", "hello\xe2\x82\xacworld", "hello\xf0\xa4\xad\xa2world", abKosme)
	// 6.6 every prefix of κόσμε: valid when it ends on a code point.
	for i := 1; i <= len(abKosme); i++ {
		p := abKosme[:i]
		seqs = append(seqs, abUTF8Sequence{id: fmt.Sprintf("6.6.%d", i), valid: utf8.ValidString(p), payload: p})
	}
	sub++
	// 6.7 first possible sequence of each length; 6.8 of length 5 and 6.
	add(true, "\x00", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80")
	add(false, "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80")
	// 6.9 last possible sequence of each length; 6.10 beyond U+10FFFF.
	add(true, "\x7f", "\xdf\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf")
	add(false, "\xf7\xbf\xbf\xbf", "\xfb\xbf\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf\xbf")
	// 6.11 other boundaries: U+D7FF, U+E000, U+FFFD, U+10FFFF, U+110000.
	seqs = append(seqs,
		abUTF8Sequence{"6.11.1", true, "\xed\x9f\xbf"}, abUTF8Sequence{"6.11.2", true, "\xee\x80\x80"},
		abUTF8Sequence{"6.11.3", true, "\xef\xbf\xbd"}, abUTF8Sequence{"6.11.4", true, "\xf4\x8f\xbf\xbf"},
		abUTF8Sequence{"6.11.5", false, "\xf4\x90\x80\x80"})
	sub++
	// 6.12 unexpected continuation bytes.
	var conts []byte
	for b := 0x80; b < 0xbf; b++ {
		conts = append(conts, byte(b))
	}
	add(false, "\x80", "\xbf", "\x80\xbf", "\x80\xbf\x80", "\x80\xbf\x80\xbf", "\x80\xbf\x80\xbf\x80", "\x80\xbf\x80\xbf\x80\xbf", string(conts))
	// 6.13 lonely start bytes, each followed by a space.
	var lonely []string
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var s []byte
		for b := r[0]; b < r[1]; b++ {
			s = append(s, byte(b), ' ')
		}
		lonely = append(lonely, string(s))
	}
	add(false, lonely...)
	// 6.14 sequences missing their last continuation byte; 6.15 all of
	// them concatenated.
	truncated := []string{"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"}
	add(false, truncated...)
	add(false, strings.Join(truncated, ""))
	// 6.16 impossible bytes.
	add(false, "\xfe", "\xff", "\xfe\xfe\xff\xff")
	// 6.17 overlong "/"; 6.18 maximum overlong sequences; 6.19 overlong NUL.
	add(false, "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf8\x80\x80\x80\xaf", "\xfc\x80\x80\x80\x80\xaf")
	add(false, "\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xf8\x87\xbf\xbf\xbf", "\xfc\x83\xbf\xbf\xbf\xbf")
	add(false, "\xc0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf8\x80\x80\x80\x80", "\xfc\x80\x80\x80\x80\x80")
	// 6.20 single UTF-16 surrogates; 6.21 paired surrogates.
	add(false, "\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbe\x80", "\xed\xbf\xbf")
	add(false, "\xed\xa0\x80\xed\xb0\x80", "\xed\xa0\x80\xed\xbf\xbf", "\xed\xad\xbf\xed\xb0\x80", "\xed\xad\xbf\xed\xbf\xbf",
		"\xed\xae\x80\xed\xb0\x80", "\xed\xae\x80\xed\xbf\xbf", "\xed\xaf\xbf\xed\xb0\x80", "\xed\xaf\xbf\xed\xbf\xbf")
	// 6.22 non-characters (valid UTF-8): U+FFFE, U+FFFF and U+nFFFE,
	// U+nFFFF for every plane n from 1 to 16.
	nonChars := []string{"\xef\xbf\xbe", "\xef\xbf\xbf"}
	for plane := rune(1); plane <= 16; plane++ {
		nonChars = append(nonChars, string(plane<<16|0xfffe), string(plane<<16|0xffff))
	}
	add(true, nonChars...)
	// 6.23 the Specials block, U+FFF9 to U+FFFF.
	var specials []string
	for r := rune(0xfff9); r <= 0xffff; r++ {
		specials = append(specials, string(r))
	}
	add(true, specials...)
	return seqs
}

// abUTF8Cases are group 6.
func abUTF8Cases() []abCase {
	const mixed = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"
	invalid := abKosme + "\xed\xa0\x80edited"
	// The payload of 6.4: PART2 starts a code point above U+10FFFF.
	failFast := abKosme + "\xf4\x90\x80\x80edited"
	cs := []abCase{
		abEchoCase("6.1.1", abOneChop, "", abText("")),
		abEchoCase("6.1.2", abOneChop, "", abData(abOpText, false, ""), abData(abOpCont, false, ""), abData(abOpCont, true, "")),
		abEchoCase("6.1.3", abOneChop, "middle frame payload",
			abData(abOpText, false, ""), abData(abOpCont, false, "middle frame payload"), abData(abOpCont, true, "")),
		abEchoCase("6.2.1", abOneChop, mixed, abText(mixed)),
		abEchoCase("6.2.2", abOneChop, mixed, abData(abOpText, false, mixed[:15]), abData(abOpCont, true, mixed[15:])),
		abEchoCase("6.2.3", abOneChop, mixed, abFragments(abOpText, mixed, 1)...),
		abEchoCase("6.2.4", abOneChop, abKosme, abFragments(abOpText, abKosme, 1)...),
		abFailCase("6.3.1", 1007, abOneChop, abText(invalid)),
		abFailCase("6.3.2", 1007, abOneChop, abFragments(abOpText, invalid, 1)...),
	}
	// 6.4.1 and 6.4.2 send three frames; the case probes with a ping after
	// the second whether the gateway failed fast (strict) or only at the
	// end of the message (NON-STRICT).
	probe := func(id string, cut1, cut2 int) abCase {
		return abCase{id: id, lenient: true, run: func(r *abRun) {
			c := r.dial()
			c.send(abFrameWise, abData(abOpText, false, failFast[:cut1]), abData(abOpCont, false, failFast[cut1:cut2]), abPing("probe"))
			f := c.mustRead("a pong or close 1007")
			if f.op == ws.OpPong && string(f.payload) == "probe" {
				r.nonStrict = true
				c.send(abOneChop, abData(abOpCont, true, failFast[cut2:]))
				c.failed(1007)
				return
			}
			if code, reason := ws.ParseCloseFrameData(f.payload); f.op != ws.OpClose || code != 1007 || reason != abGatewayReasons[1007] {
				r.t.Fatalf("RT-20: got %v, want the probe's pong or close 1007", f)
			}
			c.send(abOneChop, abCloseFrame(1007, ""))
			c.eof()
		}}
	}
	// 6.4.3 and 6.4.4 send one frame in three chops: the gateway reads a
	// frame whole before validating, so it can only fail at the end.
	chops := func(id string, cut1, cut2 int) abCase {
		return abCase{id: id, lenient: true, run: func(r *abRun) {
			r.nonStrict = true
			c := r.dial()
			f := abText(failFast)
			head := len(f) - len(failFast)
			c.write(f[:head+cut1])
			c.write(f[head+cut1 : head+cut2])
			c.write(f[head+cut2:])
			c.failed(1007)
		}}
	}
	cs = append(cs, probe("6.4.1", 11, 15), probe("6.4.2", 12, 13), chops("6.4.3", 11, 15), chops("6.4.4", 12, 13))

	// 6.5 to 6.23: each payload as Autobahn sends it (one frame), then in
	// one-byte frames, then in two fragments split at every byte.
	for _, s := range abUTF8Sequences() {
		variants := [][][]byte{{abText(s.payload)}, abFragments(abOpText, s.payload, 1)}
		for i := 1; i < len(s.payload); i++ {
			variants = append(variants, [][]byte{abData(abOpText, false, s.payload[:i]), abData(abOpCont, true, s.payload[i:])})
		}
		cs = append(cs, abCase{id: s.id, run: func(r *abRun) {
			if s.valid {
				c := r.dial()
				for _, frames := range variants {
					c.send(abOneChop, frames...)
					c.echo(s.payload)
				}
				c.closeNormally()
				return
			}
			for _, frames := range variants {
				c := r.dial()
				c.send(abOneChop, frames...)
				c.failed(1007)
			}
		}})
	}
	return cs
}

// abCloseCases are group 7.
func abCloseCases() []abCase {
	const hello = "Hello World!"
	echoCode := func(id string, code int, reason string) abCase {
		return abCase{id: id, run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abCloseFrame(code, reason))
			c.closeEcho(code)
		}}
	}
	refused := func(id string, code int, reason string, want int) abCase {
		return abCase{id: id, run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abCloseFrame(code, reason))
			c.failedOnClose(want)
		}}
	}
	big := strings.Repeat("BAsd7&jh23", MaxFrameSize/10+1)[:MaxFrameSize]
	cs := []abCase{
		{id: "7.1.1", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abText(hello))
			c.echo(hello)
			c.closeNormally()
		}},
		{id: "7.1.2", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abCloseFrame(1000, ""), abCloseFrame(1000, ""))
			c.closeEcho(1000)
		}},
		{id: "7.1.3", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abCloseFrame(1000, ""), abPing(""))
			c.closeEcho(1000)
		}},
		{id: "7.1.4", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abCloseFrame(1000, ""), abText(hello))
			c.closeEcho(1000)
		}},
		{id: "7.1.5", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abData(abOpText, false, "fragment1"), abCloseFrame(1000, ""), abData(abOpCont, true, "fragment2"))
			c.closeEcho(1000)
		}},
		// Autobahn sends a 256 KiB frame, which RT-20 closes with 1009
		// (case 1.1.7 covers that); the largest frame allowed keeps the
		// case's point, a close right behind pending messages.
		{id: "7.1.6", adapted: abBigFrame, lenient: true, run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abText(big), abText(hello), abCloseFrame(1000, ""), abPing(""))
			for {
				f := c.mustRead("the close echo")
				if f.op == ws.OpText {
					if msg := string(c.message(f)); msg != big && msg != hello {
						r.t.Fatalf("RT-24: got a message of %d bytes that is neither echo", len(msg))
					}
					continue
				}
				if f.op != ws.OpClose || !bytes.Equal(f.payload, ws.NewCloseFrameBody(1000, "")) {
					r.t.Fatalf("D-34: got %v, want the close echo 1000", f)
				}
				break
			}
			c.eof()
		}},
		echoCode("7.3.1", 0, ""),
		{id: "7.3.2", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abFrame(true, 0, abOpClose, "a"))
			c.failedOnClose(1002)
		}},
		echoCode("7.3.3", 1000, ""),
		echoCode("7.3.4", 1000, hello),
		echoCode("7.3.5", 1000, strings.Repeat("*", 123)),
		{id: "7.3.6", run: func(r *abRun) {
			c := r.dial()
			c.send(abOneChop, abCloseFrame(1000, strings.Repeat("*", 124)))
			c.failedOnClose(1002)
		}},
		// Autobahn accepts 1002 or 1007; D-34 says 1007.
		refused("7.5.1", 1000, abInvalidReason, 1007),
	}
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, echoCode(fmt.Sprintf("7.7.%d", i+1), code, ""))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		id := fmt.Sprintf("7.9.%d", i+1)
		if code == 0 {
			// Code 0 as two bytes, unlike abCloseFrame's "no payload".
			cs = append(cs, abCase{id: id, run: func(r *abRun) {
				c := r.dial()
				c.send(abOneChop, abFrame(true, 0, abOpClose, "\x00\x00"))
				c.failedOnClose(1002)
			}})
			continue
		}
		cs = append(cs, refused(id, code, "", 1002))
	}
	// 7.13: codes RFC 6455 leaves undefined; Autobahn accepts 1000, the
	// code itself or 1002. The gateway refuses them with 1002.
	informational := []abCase{refused("7.13.1", 5000, "", 1002), refused("7.13.2", 65535, "", 1002)}
	for i := range informational {
		informational[i].lenient = true
	}
	cs = append(cs, informational...)
	// Extras: codes the IANA registry (RFC 6455 11.7) added after
	// Autobahn's lists: 1012 Service Restart, 1013 Try Again Later, 1014
	// Bad Gateway may be sent; 1015 (TLS handshake) must never be.
	extras := []abCase{echoCode("7.7+1012", 1012, ""), echoCode("7.7+1013", 1013, ""), echoCode("7.7+1014", 1014, ""), refused("7.9+1015", 1015, "", 1002)}
	for i := range extras {
		extras[i].extra = true
	}
	return append(cs, extras...)
}

// abInvalidReason is the close reason of case 7.5.1: κόσμε, a surrogate,
// "edited".
const abInvalidReason = abKosme + "\xed\xa0\x80edited"

// abLimitCases are group 9, scaled to RT-20's limits.
func abLimitCases() []abCase {
	var cs []abCase
	msg := strings.Repeat("*", MaxMessageSize)
	bin := strings.Repeat("\xfe", MaxMessageSize)
	// 9.1 and 9.2: one message of increasing size (Autobahn: 64 KiB to 16
	// MiB in one frame); here 4 KiB to 128 KiB, in frames of at most 32768
	// bytes.
	sizes := []int{4096, 16384, 32768, 65536, 98304, 131072}
	for i, n := range sizes {
		c := abEchoCase(fmt.Sprintf("9.1.%d", i+1), abOneChop, msg[:n], abFragments(abOpText, msg[:n], MaxFrameSize)...)
		c.adapted = abScaled
		cs = append(cs, c)
	}
	for i, n := range sizes {
		c := abFailCase(fmt.Sprintf("9.2.%d", i+1), 1003, abOneChop, abFragments(abOpBin, bin[:n], MaxFrameSize)...)
		c.adapted = abBinary
		cs = append(cs, c)
	}
	// 9.3 and 9.4: a fixed-size message (Autobahn: 4 MiB; here 128 KiB) in
	// fragments of increasing size; fragments over 32768 bytes are closed
	// with 1009.
	fragments := []int{64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20}
	for i, n := range fragments {
		var c abCase
		if n <= MaxFrameSize {
			c = abEchoCase(fmt.Sprintf("9.3.%d", i+1), abOneChop, msg, abFragments(abOpText, msg, n)...)
			c.adapted = abScaled
		} else {
			c = abFailCase(fmt.Sprintf("9.3.%d", i+1), 1009, abOneChop, abFragments(abOpText, msg, n)...)
			c.adapted = abBigFrame
		}
		cs = append(cs, c)
	}
	for i, n := range fragments {
		code := 1003
		if n > MaxFrameSize {
			code = 1009
		}
		c := abFailCase(fmt.Sprintf("9.4.%d", i+1), code, abOneChop, abFragments(abOpBin, bin, n)...)
		c.adapted = abBinary
		cs = append(cs, c)
	}
	// 9.5 and 9.6: one frame (Autobahn: 1 MiB; here 32768 bytes) written
	// in chops of increasing size.
	for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
		c := abEchoCase(fmt.Sprintf("9.5.%d", i+1), chop, msg[:MaxFrameSize], abText(msg[:MaxFrameSize]))
		c.adapted = abScaled
		cs = append(cs, c)
		c = abFailCase(fmt.Sprintf("9.6.%d", i+1), 1003, chop, abData(abOpBin, true, bin[:MaxFrameSize]))
		c.adapted = abBinary
		cs = append(cs, c)
	}
	sort.SliceStable(cs, func(i, j int) bool { return abLess(cs[i].id, cs[j].id) })
	// 9.7 and 9.8: 1000 round trips of increasing size.
	for i, n := range []int{0, 16, 64, 256, 1024, 4096} {
		p := msg[:n]
		cs = append(cs, abCase{id: fmt.Sprintf("9.7.%d", i+1), run: func(r *abRun) {
			c := r.dial()
			frame := abText(p)
			for range 1000 {
				c.send(abOneChop, frame)
				c.echo(p)
			}
			c.closeNormally()
		}})
	}
	for i, n := range []int{0, 16, 64, 256, 1024, 4096} {
		c := abFailCase(fmt.Sprintf("9.8.%d", i+1), 1003, abOneChop, abData(abOpBin, true, bin[:n]))
		c.adapted = abBinary
		cs = append(cs, c)
	}
	return cs
}

// abLess orders dotted case numbers numerically.
func abLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// abAutoFragmentationCases are group 10: a 65536-byte message in 1300-byte
// frames (the gateway answers it in frames of at most 32768 bytes, D-27).
func abAutoFragmentationCases() []abCase {
	p := strings.Repeat("*", 65536)
	return []abCase{abEchoCase("10.1.1", abOneChop, p, abFragments(abOpText, p, 1300)...)}
}

// abCompressionCases are groups 12 and 13 (permessage-deflate), which do
// not apply: the gateway never negotiates an extension. Each row offers
// the subgroup's permessage-deflate parameters and checks that the 101
// accepts no extension, that messages still echo uncompressed, and that a
// frame with RSV1 (a compressed message) is a protocol error (D-37).
func abCompressionCases() []abCase {
	const na = "permessage-deflate is never negotiated"
	offers := []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate",
		"permessage-deflate; server_no_context_takeover",
		"permessage-deflate; server_max_window_bits=8",
		"permessage-deflate; server_max_window_bits=15",
		"permessage-deflate; server_no_context_takeover; server_max_window_bits=8",
		"permessage-deflate; server_no_context_takeover; server_max_window_bits=15",
		"permessage-deflate; server_no_context_takeover; server_max_window_bits=8, permessage-deflate; server_no_context_takeover, permessage-deflate",
	}
	check := func(id, offer string) abCase {
		return abCase{id: id, na: na, covers: 18, run: func(r *abRun) {
			c, accepted := r.dialOffer(offer)
			if accepted != "" {
				r.t.Fatalf("D-37: the 101 accepts the extension %q; the gateway negotiates none", accepted)
			}
			c.send(abOneChop, abText(abHello))
			c.echo(abHello)
			c.send(abOneChop, abFrame(true, 4, abOpText, abHello))
			c.failed(1002)
		}}
	}
	var cs []abCase
	for i := 1; i <= 5; i++ {
		cs = append(cs, check(fmt.Sprintf("12.%d", i), offers[0]))
	}
	for i := 1; i <= 7; i++ {
		cs = append(cs, check(fmt.Sprintf("13.%d", i), offers[i]))
	}
	return cs
}
