package runtime

// End-to-end tests of frame handling: size limits and reassembly (RT-20),
// protocol errors (D-37), close frames from the client (D-34), and the
// outbound queue (RT-26), with real sockets against a real Server.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// frMask is the mask of the frames frFrame builds.
var frMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frFrame encodes one client frame as it goes on the wire: masked unless
// mask is false, with the RSV bits rsv (see ws.Rsv). It encodes what no
// well-behaved client would send, such as reserved opcodes.
func frFrame(op ws.OpCode, fin bool, rsv byte, mask bool, payload []byte) []byte {
	h := ws.Header{Fin: fin, Rsv: rsv, OpCode: op, Length: int64(len(payload)), Masked: mask}
	if mask {
		h.Mask = frMask
	}
	var b bytes.Buffer
	_ = ws.WriteHeader(&b, h)
	p := append([]byte(nil), payload...)
	if mask {
		ws.Cipher(p, h.Mask, 0)
	}
	b.Write(p)
	return b.Bytes()
}

// frWrite sends bytes as they are and returns the error, for writes that
// may race with the gateway closing the connection.
func frWrite(c *wsClient, b []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	_, err := c.conn.Write(b)
	return err
}

// frReadClose reads frames until a close frame and returns its code,
// reason and raw payload; data frames and pongs before it are skipped.
func frReadClose(t testing.TB, c *wsClient) (code int, reason string, payload []byte) {
	t.Helper()
	for {
		f, err := c.tryReadFrame()
		if err != nil {
			t.Fatalf("D-34: no close frame reached the client: %v", err)
		}
		if f.op == ws.OpClose {
			cc, cr := ws.ParseCloseFrameData(f.payload)
			return int(cc), cr, f.payload
		}
	}
}

// frAPI returns API "chat" whose $default route is one-way to fn, with
// $connect and $disconnect to fn as well.
func frAPI(fn *backend) *model.API {
	return proxyAPI("chat", fn.URL,
		&model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default"})
}

// frConnect dials the gateway and returns the client and its connection
// id.
func frConnect(t testing.TB, g *testGateway, fn *backend) (*wsClient, string) {
	t.Helper()
	c := dial(t, g.url("/chat/test"), nil)
	id := lcNext(t, fn, "CONNECT", "", false).ConnectionID
	lcSettle(t, c)
	return c, id
}

// frExpectGatewayClose checks that the gateway closes the connection with
// code and reason (RT-20, D-34): the client receives that close frame, the
// TCP connection ends after the client's reply, no message was delivered
// before, and $disconnect reports the same code and reason.
func frExpectGatewayClose(t testing.TB, c *wsClient, fn *backend, id string, code int, reason string) {
	t.Helper()
	gotCode, gotReason, _ := frReadClose(t, c)
	if gotCode != code || gotReason != reason {
		t.Fatalf("D-34: the client received close %d %q, want %d %q", gotCode, gotReason, code, reason)
	}
	_ = frWrite(c, frFrame(ws.OpClose, true, 0, true, ws.NewCloseFrameBody(ws.StatusCode(code), "")))
	c.expectEOF()
	ev := lcNext(t, fn, "DISCONNECT", id, true)
	if ev.DisconnectStatusCode == nil || ev.DisconnectReason == nil ||
		*ev.DisconnectStatusCode != code || *ev.DisconnectReason != reason {
		t.Fatalf("RT-13/D-34: $disconnect reports %v %v, want %d %q", frDerefInt(ev.DisconnectStatusCode), frDerefString(ev.DisconnectReason), code, reason)
	}
}

func frDerefInt(p *int) any {
	if p == nil {
		return "no disconnectStatusCode"
	}
	return *p
}

func frDerefString(p *string) any {
	if p == nil {
		return "no disconnectReason"
	}
	return *p
}

// frSummary describes messages briefly: long ones by their length.
func frSummary(msgs []string) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		if len(m) > 40 {
			parts[i] = fmt.Sprintf("%d bytes %.20q...", len(m), m)
		} else {
			parts[i] = strconv.Quote(m)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// frText returns n bytes of text.
func frText(n int) []byte { return bytes.Repeat([]byte("a"), n) }

func TestFramesLimitsAndProtocolErrors(t *testing.T) {
	type want struct {
		// messages the integration must receive, in order; with closeCode 0
		// the connection stays open.
		messages []string
		pongs    []string
		// closeCode and closeReason: the gateway closes the connection.
		closeCode   int
		closeReason string
	}
	full := frText(MaxFrameSize)
	quarter := string(frText(MaxMessageSize / 4))
	protocolError := want{closeCode: 1002, closeReason: "Protocol error"}
	tooBig := want{closeCode: 1009, closeReason: "Message too big"}
	invalid := want{closeCode: 1007, closeReason: "Invalid frame payload data"}
	unsupported := want{closeCode: 1003, closeReason: "Unsupported data"}
	cases := []struct {
		name   string
		frames [][]byte
		want   want
	}{
		{name: "RT-20 frame of exactly 32768 bytes delivered",
			frames: [][]byte{frFrame(ws.OpText, true, 0, true, full)},
			want:   want{messages: []string{string(full)}}},
		{name: "RT-20 frame of 32769 bytes 1009",
			frames: [][]byte{frFrame(ws.OpText, true, 0, true, frText(MaxFrameSize+1))},
			want:   tooBig},
		{name: "RT-20 frame of 131072 bytes 1009",
			frames: [][]byte{frFrame(ws.OpText, true, 0, true, frText(4*MaxFrameSize))},
			want:   tooBig},
		{name: "RT-20 message of exactly 131072 bytes from four fragments delivered whole",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, []byte(quarter)),
				frFrame(ws.OpContinuation, false, 0, true, []byte(quarter)),
				frFrame(ws.OpContinuation, false, 0, true, []byte(quarter)),
				frFrame(ws.OpContinuation, true, 0, true, []byte(quarter)),
			},
			want: want{messages: []string{strings.Repeat(quarter, 4)}}},
		{name: "RT-20 message of 131073 bytes from fragments 1009",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, []byte(quarter)),
				frFrame(ws.OpContinuation, false, 0, true, []byte(quarter)),
				frFrame(ws.OpContinuation, false, 0, true, []byte(quarter)),
				frFrame(ws.OpContinuation, false, 0, true, []byte(quarter)),
				frFrame(ws.OpContinuation, true, 0, true, []byte("a")),
			},
			want: tooBig},
		{name: "RT-20 empty fragments reassembled",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, nil),
				frFrame(ws.OpContinuation, false, 0, true, []byte("x")),
				frFrame(ws.OpContinuation, true, 0, true, nil),
				frFrame(ws.OpText, true, 0, true, []byte("second")),
			},
			want: want{messages: []string{"x", "second"}}},
		{name: "RT-20 pings between fragments answered and message reassembled",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, []byte("frag-1 ")),
				frFrame(ws.OpPing, true, 0, true, []byte("p-1")),
				frFrame(ws.OpContinuation, false, 0, true, []byte("frag-2 ")),
				frFrame(ws.OpPing, true, 0, true, []byte("p-2")),
				frFrame(ws.OpContinuation, true, 0, true, []byte("frag-3")),
			},
			want: want{messages: []string{"frag-1 frag-2 frag-3"}, pongs: []string{"p-1", "p-2"}}},
		{name: "RT-20 ping of 125 bytes answered with its payload",
			frames: [][]byte{frFrame(ws.OpPing, true, 0, true, frText(125)), frFrame(ws.OpPing, true, 0, true, nil)},
			want:   want{pongs: []string{string(frText(125)), ""}}},
		{name: "RT-20 unsolicited pong ignored",
			frames: [][]byte{frFrame(ws.OpPong, true, 0, true, []byte("hi")), frFrame(ws.OpText, true, 0, true, []byte("after"))},
			want:   want{messages: []string{"after"}}},
		{name: "RT-20 UTF-8 character split across fragments delivered",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, []byte("caf\xc3")),
				frFrame(ws.OpContinuation, true, 0, true, []byte("\xa9 ok")),
			},
			want: want{messages: []string{"café ok"}}},
		{name: "RT-20 truncated UTF-8 at the end of a fragmented message 1007",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, []byte("caf\xc3")),
				frFrame(ws.OpContinuation, true, 0, true, []byte("\xa9 \xe2\x82")),
			},
			want: invalid},
		{name: "RT-20 three-byte character split across three fragments delivered",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, []byte("\xe2")),
				frFrame(ws.OpContinuation, false, 0, true, []byte("\x82")),
				frFrame(ws.OpContinuation, true, 0, true, []byte("\xac=euro")),
			},
			want: want{messages: []string{"€=euro"}}},
		{name: "RT-20 invalid UTF-8 split across fragments 1007",
			frames: [][]byte{
				frFrame(ws.OpText, false, 0, true, []byte("ab\xc3")),
				frFrame(ws.OpContinuation, true, 0, true, []byte("(cd")),
			},
			want: invalid},
		{name: "RT-20 invalid UTF-8 in one frame 1007",
			frames: [][]byte{frFrame(ws.OpText, true, 0, true, []byte("\xff\xfe"))},
			want:   invalid},
		{name: "RT-20 binary frame 1003",
			frames: [][]byte{frFrame(ws.OpBinary, true, 0, true, []byte{1, 2, 3})},
			want:   unsupported},
		{name: "RT-20 fragmented binary message 1003",
			frames: [][]byte{frFrame(ws.OpBinary, false, 0, true, []byte{1}), frFrame(ws.OpContinuation, true, 0, true, []byte{2})},
			want:   unsupported},
		{name: "D-37 reserved data opcode 0x3 1002",
			frames: [][]byte{frFrame(ws.OpCode(0x3), true, 0, true, []byte("x"))},
			want:   protocolError},
		{name: "D-37 reserved data opcode 0x7 1002",
			frames: [][]byte{frFrame(ws.OpCode(0x7), true, 0, true, nil)},
			want:   protocolError},
		{name: "D-37 reserved control opcode 0xB 1002",
			frames: [][]byte{frFrame(ws.OpCode(0xB), true, 0, true, nil)},
			want:   protocolError},
		{name: "D-37 reserved control opcode 0xF 1002",
			frames: [][]byte{frFrame(ws.OpCode(0xF), true, 0, true, []byte("x"))},
			want:   protocolError},
		{name: "D-37 unmasked frame 1002",
			frames: [][]byte{frFrame(ws.OpText, true, 0, false, []byte("hello"))},
			want:   protocolError},
		{name: "D-37 unmasked ping 1002",
			frames: [][]byte{frFrame(ws.OpPing, true, 0, false, []byte("hello"))},
			want:   protocolError},
		{name: "D-37 RSV1 1002",
			frames: [][]byte{frFrame(ws.OpText, true, ws.Rsv(true, false, false), true, []byte("x"))},
			want:   protocolError},
		{name: "D-37 RSV2 1002",
			frames: [][]byte{frFrame(ws.OpText, true, ws.Rsv(false, true, false), true, []byte("x"))},
			want:   protocolError},
		{name: "D-37 RSV3 1002",
			frames: [][]byte{frFrame(ws.OpText, true, ws.Rsv(false, false, true), true, []byte("x"))},
			want:   protocolError},
		{name: "D-37 RSV1 on a continuation 1002",
			frames: [][]byte{frFrame(ws.OpText, false, 0, true, []byte("x")), frFrame(ws.OpContinuation, true, ws.Rsv(true, false, false), true, []byte("y"))},
			want:   protocolError},
		{name: "D-37 RSV1 on a ping 1002",
			frames: [][]byte{frFrame(ws.OpPing, true, ws.Rsv(true, false, false), true, nil)},
			want:   protocolError},
		{name: "D-37 ping over 125 bytes 1002",
			frames: [][]byte{frFrame(ws.OpPing, true, 0, true, frText(126))},
			want:   protocolError},
		{name: "D-37 close over 125 bytes 1002",
			frames: [][]byte{frFrame(ws.OpClose, true, 0, true, append(ws.NewCloseFrameBody(1000, ""), frText(124)...))},
			want:   protocolError},
		{name: "D-37 fragmented ping 1002",
			frames: [][]byte{frFrame(ws.OpPing, false, 0, true, []byte("p"))},
			want:   protocolError},
		{name: "D-37 fragmented pong inside a message 1002",
			frames: [][]byte{frFrame(ws.OpText, false, 0, true, []byte("a")), frFrame(ws.OpPong, false, 0, true, []byte("p"))},
			want:   protocolError},
		{name: "D-37 continuation without a message 1002",
			frames: [][]byte{frFrame(ws.OpContinuation, true, 0, true, []byte("x"))},
			want:   protocolError},
		{name: "D-37 continuation after a complete message 1002",
			frames: [][]byte{frFrame(ws.OpText, true, 0, true, []byte("whole")), frFrame(ws.OpContinuation, false, 0, true, []byte("x"))},
			want:   want{messages: []string{"whole"}, closeCode: 1002, closeReason: "Protocol error"}},
		{name: "D-37 new text frame inside a fragmented message 1002",
			frames: [][]byte{frFrame(ws.OpText, false, 0, true, []byte("a")), frFrame(ws.OpText, true, 0, true, []byte("b"))},
			want:   protocolError},
		{name: "D-37 binary frame inside a fragmented message 1002",
			frames: [][]byte{frFrame(ws.OpText, false, 0, true, []byte("a")), frFrame(ws.OpBinary, true, 0, true, []byte("b"))},
			want:   protocolError},
		{name: "D-37 64-bit length with the most significant bit set 1002",
			frames: [][]byte{{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0x37, 0xfa, 0x21, 0x3d}},
			want:   protocolError},
	}
	fn := newBackend(t, echoLambda)
	// The close timeout outlasts every wait of the test: the gateway must
	// end the connection on the client's reply to its close frame, which it
	// finds only if it skipped the offending frame's payload.
	g := startGateway(t, newState(t, frAPI(fn)), Options{CloseTimeout: 2 * testTimeout})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, id := frConnect(t, g, fn)
			for _, f := range tc.frames {
				if err := frWrite(c, f); err != nil {
					if tc.want.closeCode == 0 {
						t.Fatalf("write: %v", err)
					}
					// The gateway closed the connection before reading all.
					break
				}
			}
			// Messages are handled concurrently (RT-44), so they may reach the
			// integration in any order.
			var got []string
			for range tc.want.messages {
				got = append(got, lcNext(t, fn, "MESSAGE", id, false).Body)
			}
			slices.Sort(got)
			wantMessages := slices.Sorted(slices.Values(tc.want.messages))
			if !slices.Equal(got, wantMessages) {
				t.Fatalf("RT-20: the integration received %s, want %s", frSummary(got), frSummary(wantMessages))
			}
			for _, p := range tc.want.pongs {
				f := c.readFrame()
				if f.op != ws.OpPong || string(f.payload) != p {
					t.Fatalf("RT-20: the client received %v %.40q, want a pong with %.40q", f.op, f.payload, p)
				}
			}
			if tc.want.closeCode != 0 {
				frExpectGatewayClose(t, c, fn, id, tc.want.closeCode, tc.want.closeReason)
				return
			}
			// Still open: a normal close ends it, and nothing else was
			// delivered on the way.
			c.close(1000, "")
			if code, _, _ := frReadClose(t, c); code != 1000 {
				t.Fatalf("D-34: echo close %d, want 1000", code)
			}
			ev := lcNext(t, fn, "DISCONNECT", id, true)
			if *ev.DisconnectStatusCode != 1000 {
				t.Fatalf("RT-13: $disconnect reports %d, want 1000", *ev.DisconnectStatusCode)
			}
		})
	}
}

func TestFramesClientClose(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		// echo: the gateway echoes the code and $disconnect reports code and
		// reason; otherwise it closes with the gateway's own code.
		echo        bool
		code        int
		reason      string
		gatewayCode int
	}{
		{name: "D-34 1000 with reason echoed", payload: ws.NewCloseFrameBody(1000, "see you"), echo: true, code: 1000, reason: "see you"},
		{name: "D-34 1001 echoed", payload: ws.NewCloseFrameBody(1001, ""), echo: true, code: 1001},
		{name: "D-34 1014 echoed", payload: ws.NewCloseFrameBody(1014, "x"), echo: true, code: 1014, reason: "x"},
		{name: "D-34 3000 echoed", payload: ws.NewCloseFrameBody(3000, "app"), echo: true, code: 3000, reason: "app"},
		{name: "D-34 4999 with UTF-8 reason echoed", payload: ws.NewCloseFrameBody(4999, "tschüß"), echo: true, code: 4999, reason: "tschüß"},
		{name: "RT-13 no code reports 1005", payload: nil, echo: true, code: 1005, reason: "Client-side close frame status not set"},
		{name: "D-37 one-byte payload 1002", payload: []byte{0x03}, gatewayCode: 1002},
		{name: "D-37 code 0 1002", payload: ws.NewCloseFrameBody(0, ""), gatewayCode: 1002},
		{name: "D-37 code 999 1002", payload: ws.NewCloseFrameBody(999, ""), gatewayCode: 1002},
		{name: "D-37 code 1004 1002", payload: ws.NewCloseFrameBody(1004, ""), gatewayCode: 1002},
		{name: "D-37 code 1005 1002", payload: ws.NewCloseFrameBody(1005, ""), gatewayCode: 1002},
		{name: "D-37 code 1006 1002", payload: ws.NewCloseFrameBody(1006, ""), gatewayCode: 1002},
		{name: "D-37 code 1015 1002", payload: ws.NewCloseFrameBody(1015, ""), gatewayCode: 1002},
		{name: "D-37 code 2999 1002", payload: ws.NewCloseFrameBody(2999, ""), gatewayCode: 1002},
		{name: "D-37 code 5000 1002", payload: ws.NewCloseFrameBody(5000, ""), gatewayCode: 1002},
		{name: "RT-20 invalid UTF-8 reason 1007", payload: ws.NewCloseFrameBody(1000, "bad\xff"), gatewayCode: 1007},
	}
	reasons := map[int]string{1002: "Protocol error", 1007: "Invalid frame payload data"}
	fn := newBackend(t, echoLambda)
	g := startGateway(t, newState(t, frAPI(fn)), Options{CloseTimeout: 500 * time.Millisecond})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, id := frConnect(t, g, fn)
			if err := frWrite(c, frFrame(ws.OpClose, true, 0, true, tc.payload)); err != nil {
				t.Fatal(err)
			}
			if !tc.echo {
				// The client has sent its close frame already and does not
				// reply to the gateway's.
				code, reason, _ := frReadClose(t, c)
				if code != tc.gatewayCode || reason != reasons[tc.gatewayCode] {
					t.Fatalf("D-37: the client received close %d %q, want %d %q", code, reason, tc.gatewayCode, reasons[tc.gatewayCode])
				}
				c.expectEOF()
				lcCheckDisconnect(t, fn, id, tc.gatewayCode, reasons[tc.gatewayCode])
				return
			}
			_, _, payload := frReadClose(t, c)
			var want []byte
			if tc.payload != nil {
				want = tc.payload[:2]
			}
			if !bytes.Equal(payload[:min(2, len(payload))], want) {
				t.Fatalf("D-34: echo close payload %q, want the client's code %q", payload, want)
			}
			c.expectEOF()
			lcCheckDisconnect(t, fn, id, tc.code, tc.reason)
		})
	}
}

// frFlood pushes 64 KiB messages through @connections to connection id,
// whose client c does not read, until the gateway refuses them (410); it
// fails when the gateway accepts far more than any socket buffers hold.
func frFlood(t testing.TB, g *testGateway, c *wsClient, id string) {
	t.Helper()
	body := frText(64 << 10)
	for i := range 2000 {
		status, _, _ := lcDo(t, http.MethodPost, lcConnectionsURL(g, id), body)
		switch status {
		case http.StatusOK:
		case http.StatusGone:
			return
		default:
			t.Fatalf("RT-26: POST %d to a slow consumer: status %d", i, status)
		}
	}
	t.Fatalf("RT-26: the gateway accepted %d MiB for a client that does not read", 2000*len(body)>>20)
}

// frDrainSlow checks that the gateway has closed the TCP connection of a
// client that stopped reading (RT-26): it reads what the connection still
// holds until its end; a close frame among it, if one got through, must
// carry code and reason.
func frDrainSlow(t testing.TB, c *wsClient, code int, reason string) {
	t.Helper()
	for {
		f, err := c.tryReadFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("RT-26: the slow consumer's connection was not closed within %s", testTimeout)
			}
			return
		}
		if f.op == ws.OpClose {
			if gotCode, gotReason := ws.ParseCloseFrameData(f.payload); int(gotCode) != code || gotReason != reason {
				t.Fatalf("D-34: the slow consumer received close %d %q, want %d %q", gotCode, gotReason, code, reason)
			}
		}
	}
}

func TestFramesSlowConsumer(t *testing.T) {
	// The backend answers the message "big" with big, and echoes everything
	// else.
	big := string(frText(100_000))
	cases := []struct {
		name string
		// writeTimeout is 300ms unless set.
		writeTimeout time.Duration
		flood        func(t *testing.T, g *testGateway, c *wsClient, id string)
	}{
		{name: "RT-26 @connections POSTs", flood: func(t *testing.T, g *testGateway, c *wsClient, id string) {
			frFlood(t, g, c, id)
		}},
		{name: "RT-26 two-way replies with large bodies", flood: func(t *testing.T, g *testGateway, c *wsClient, id string) {
			// Stop at the first write error: the gateway has dropped the
			// connection.
			for range 300 {
				if err := frWrite(c, frFrame(ws.OpText, true, 0, true, []byte("big"))); err != nil {
					return
				}
			}
		}},
		// The write timeout outlasts the test: only the bounded queue can
		// stop pongs from piling up.
		{name: "RT-26 pings from a client that never reads the pongs", writeTimeout: 2 * testTimeout,
			flood: func(t *testing.T, _ *testGateway, c *wsClient, _ string) {
				var batch []byte
				for range 1000 {
					batch = append(batch, frFrame(ws.OpPing, true, 0, true, frText(125))...)
				}
				// 1000 batches are 131 MB of pongs, far more than socket
				// buffers hold.
				for range 1000 {
					if err := frWrite(c, batch); err != nil {
						return
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{
				SendQueueMessages: 8,
				SendQueueBytes:    256 << 10,
				WriteTimeout:      cmp.Or(tc.writeTimeout, 300*time.Millisecond),
				CloseTimeout:      300 * time.Millisecond,
			}
			fn := newBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				var ev struct {
					Body string `json:"body"`
				}
				if _ = json.Unmarshal(body, &ev); ev.Body == "big" {
					w.Header().Set("Content-Type", "application/json")
					_, _ = fmt.Fprintf(w, `{"statusCode":200,"body":%q}`, big)
					return
				}
				echoLambda(w, r, body)
			})
			api := proxyAPI("chat", fn.URL,
				&model.Route{Key: "$connect"}, &model.Route{Key: "$disconnect"}, &model.Route{Key: "$default", TwoWay: true})
			g := startGateway(t, newState(t, api), opts)
			slow, slowID := frConnect(t, g, fn)
			healthy, healthyID := frConnect(t, g, fn)

			start := time.Now()
			tc.flood(t, g, slow, slowID)
			lcCheckDisconnect(t, fn, slowID, 1008, "Slow consumer")
			if elapsed := time.Since(start); elapsed > testTimeout/2 {
				t.Errorf("RT-26: the slow consumer was disconnected only after %s", elapsed)
			}
			frDrainSlow(t, slow, 1008, "Slow consumer")

			// The other connection was not affected.
			if status, _, _ := lcDo(t, http.MethodPost, lcConnectionsURL(g, healthyID), []byte("push")); status != http.StatusOK {
				t.Fatalf("RT-26: POST to another connection: %d", status)
			}
			if got := healthy.readText(); got != "push" {
				t.Fatalf("RT-26: the other connection received %q", got)
			}
			healthy.send("echo me")
			if got := healthy.readText(); got != "echo me" {
				t.Fatalf("RT-26: the other connection's echo %q", got)
			}
			healthy.send("big")
			if got := healthy.readText(); got != big {
				t.Fatalf("RT-26: the other connection's large reply has %d bytes, want %d", len(got), len(big))
			}
			healthy.close(1000, "")
			lcCheckDisconnect(t, fn, healthyID, 1000, "")
		})
	}
}

func TestFramesOutboundOrder(t *testing.T) {
	fn := newBackend(t, echoLambda)
	g := startGateway(t, newState(t, frAPI(fn)), Options{})
	c, id := frConnect(t, g, fn)

	const n = 200
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("seq-%03d", i)
		if i%10 == 5 {
			// Over one frame: sent fragmented (D-27), and still in order.
			want[i] += strings.Repeat(".", 40_000)
		}
	}
	type result struct {
		msgs      []string
		maxFrame  int
		fragments int
		err       error
	}
	done := make(chan result, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var r result
		var msg []byte
		for len(r.msgs) < n {
			f, err := c.tryReadFrame()
			if err != nil {
				r.err = err
				break
			}
			if f.op != ws.OpText && f.op != ws.OpContinuation {
				r.err = fmt.Errorf("frame %v %q", f.op, f.payload)
				break
			}
			r.maxFrame = max(r.maxFrame, len(f.payload))
			if !f.fin || f.op == ws.OpContinuation {
				r.fragments++
			}
			msg = append(msg, f.payload...)
			if f.fin {
				r.msgs = append(r.msgs, string(msg))
				msg = nil
			}
		}
		done <- r
	}()
	defer wg.Wait()
	for i, m := range want {
		if status, _, _ := lcDo(t, http.MethodPost, lcConnectionsURL(g, id), []byte(m)); status != http.StatusOK {
			_ = c.conn.Close()
			t.Fatalf("RT-2: POST %d: %d", i, status)
		}
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("RT-26: reading the pushes: %v", r.err)
	}
	for i := range want {
		if r.msgs[i] != want[i] {
			t.Fatalf("RT-26: message %d is %.12q, want %.12q: delivered out of order", i, r.msgs[i], want[i])
		}
	}
	if r.maxFrame > MaxFrameSize || r.fragments == 0 {
		t.Errorf("D-27: largest frame %d bytes, %d fragments; want large messages split into frames of at most %d", r.maxFrame, r.fragments, MaxFrameSize)
	}
	c.close(1000, "")
	lcCheckDisconnect(t, fn, id, 1000, "")
}
