package runtime

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// TestD42HeadOfEarlierRequestNotReused sends, on one kept-alive connection,
// a request answered 426 and then a valid handshake with other headers: the
// CONNECT event must carry the handshake's own headers, not the head the
// first request left behind (D-42).
func TestD42HeadOfEarlierRequestNotReused(t *testing.T) {
	fn := newBackend(t, echoLambda)
	api := proxyAPI("chat", fn.URL, &model.Route{Key: "$connect"})
	g := startGateway(t, newState(t, api), Options{})

	nc, err := net.DialTimeout("tcp", g.addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	br := bufio.NewReader(nc)

	// Not an upgrade: 426, and the connection stays open.
	if _, err := io.WriteString(nc, "GET /chat/test HTTP/1.1\r\nHost: gw\r\nx-first: old\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("D-31: plain GET to a stage URL: HTTP %d, want 426", resp.StatusCode)
	}

	if _, err := io.WriteString(nc, "GET /chat/test HTTP/1.1\r\nHost: gw\r\nx-second: new\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "+routingWSKey+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake after a 426 on the same connection: HTTP %d, want 101", resp.StatusCode)
	}
	ev, _ := fn.nextEvent(t, "CONNECT")
	if _, ok := ev.Headers["x-first"]; ok {
		t.Errorf("D-42: the CONNECT event carries the earlier request's header x-first: %v", ev.Headers)
	}
	if got := ev.Headers["x-second"]; got != "new" {
		t.Errorf("D-42: the CONNECT event's x-second = %q, want %q (headers %v)", got, "new", ev.Headers)
	}
}
