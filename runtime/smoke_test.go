package runtime

import (
	"testing"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func TestSmokeEchoAndDisconnect(t *testing.T) {
	fn := newBackend(t, echoLambda)
	api := proxyAPI("chat", fn.URL,
		&model.Route{Key: "$connect"},
		&model.Route{Key: "$disconnect"},
		&model.Route{Key: "$default", TwoWay: true},
	)
	g := startGateway(t, newState(t, api), Options{})
	c := dial(t, g.url("/chat/test"), nil)
	connectEv, _ := fn.nextEvent(t, "CONNECT")
	c.send(`{"action":"x","n":1}`)
	if got := c.readText(); got != `{"action":"x","n":1}` {
		t.Fatalf("echo: %q", got)
	}
	c.close(4000, "bye")
	c.expectClose(4000, "")
	ev, _ := fn.nextEvent(t, "DISCONNECT")
	if ev.RequestContext.ConnectionID != connectEv.RequestContext.ConnectionID {
		t.Fatalf("ids differ")
	}
}
