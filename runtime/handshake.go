package runtime

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// serveHTTP is the gateway listener's handler: stage URLs, custom domain
// mappings and the @connections API (RT-1, RT-2, D-31).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	t := s.table.Load()
	if t == nil {
		http.Error(w, "no state loaded", http.StatusServiceUnavailable)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	segs := strings.Split(path, "/")
	if n := len(segs); n >= 3 && n <= 4 && segs[n-2] == "@connections" {
		s.serveConnections(w, r, t, segs)
		return
	}
	if st := t.lookupDomain(r.Host, path); st != nil {
		s.serveStage(w, r, st)
		return
	}
	if len(segs) == 2 {
		if st := t.lookupPath(segs[0], segs[1]); st != nil {
			s.serveStage(w, r, st)
			return
		}
	}
	http.NotFound(w, r)
}

// isUpgrade reports whether r is a valid WebSocket opening handshake
// (RFC 6455 section 4.2.1).
func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && r.ProtoAtLeast(1, 1) &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket") &&
		r.Header.Get("Sec-WebSocket-Version") == "13" &&
		len(r.Header.Get("Sec-WebSocket-Key")) == 24
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serveStage handles a request to a stage URL: anything but a valid upgrade
// gets 426 (D-31); an upgrade runs $connect (RT-10, RT-11) and, when it
// accepts, becomes a connection.
func (s *Server) serveStage(w http.ResponseWriter, r *http.Request, st *stage) {
	if !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, "Upgrade Required", http.StatusUpgradeRequired)
		return
	}
	// The handshake counts as one of the server's goroutines from here on,
	// so that Shutdown waits for it; after the upgrade the connection's
	// serve goroutine takes the count over.
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closing {
		w.Header().Set("Connection", "close")
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	handedOver := false
	defer func() {
		if !handedOver {
			s.wg.Done()
		}
	}()
	if st.refuse != "" {
		s.log.Error("handshake refused", logKeyAPI, st.key.api, logKeyStage, st.key.stage, logKeyReason, st.refuse)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}

	now := s.opts.Now()
	c := &conn{
		s:              s,
		id:             NewID(s.opts.Node),
		key:            st.key,
		connectedAt:    now,
		host:           r.Host,
		userAgent:      r.Header.Get("User-Agent"),
		headers:        handshakeHeaders(r),
		rawQuery:       r.URL.RawQuery,
		forwardedProto: "http",
		inflight:       make(chan struct{}, s.opts.MaxInflight),
	}
	if isTLS(r) {
		c.forwardedProto = "https"
	}
	c.sourceIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	if _, port, err := net.SplitHostPort(localAddr(r)); err == nil {
		c.forwardedPort = port
	}
	c.lastActive.Store(now.UnixNano())

	var subprotocol string
	if rt := st.connect; rt != nil && rt.integration != nil {
		req := c.request(st, integration.EventConnect, rt.key, now)
		resp, err := s.invoker.Invoke(r.Context(), rt.integration, req)
		status := http.StatusOK
		switch {
		case err != nil:
			status = handshakeStatus(err)
			s.log.Warn("$connect integration failed", logKeyAPI, st.key.api, logKeyStage, st.key.stage,
				logKeyConnectionID, c.id, logKeyRequestID, req.RequestID, logKeyError, err)
		default:
			status = resp.StatusCode
		}
		if status < 200 || status > 299 {
			if status >= 300 && status <= 399 && resp != nil {
				if loc := resp.Header.Get("Location"); loc != "" {
					w.Header().Set("Location", loc)
				}
			}
			w.WriteHeader(status)
			return
		}
		subprotocol = resp.Header.Get("Sec-WebSocket-Protocol")
	}

	// $connect has accepted the connection: from here on @connections
	// reaches it (RT-2), and what is posted before the 101 is written waits
	// in its queue for the upgrade.
	c.lastStage.Store(st)
	s.conns.add(c)
	if s.isClosing() || s.table.Load().stages[c.key] == nil {
		// Shutdown began, or a reload removed the stage, while $connect ran;
		// either may have missed this connection: it is closed the way every
		// other one was.
		c.closeWith(closeGoingAway)
	}

	up := ws.HTTPUpgrader{Timeout: s.opts.HandshakeTimeout}
	if subprotocol != "" {
		up.Header = http.Header{"Sec-WebSocket-Protocol": {subprotocol}}
	}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		// $connect accepted the connection, so its backend knows it: tell it
		// the connection is gone.
		c.detach()
		s.conns.remove(c)
		if nc != nil {
			_ = nc.Close()
		}
		s.log.Debug("upgrade failed", logKeyConnectionID, c.id, logKeyError, err)
		s.runDisconnect(c, closeAbnormal)
		return
	}
	var rd io.Reader = nc
	if n := rw.Reader.Buffered(); n > 0 {
		ahead, _ := rw.Reader.Peek(n)
		rd = &prefixReader{prefix: append([]byte(nil), ahead...), r: nc}
	}
	_ = nc.SetDeadline(time.Time{})
	c.attach(nc, rd)
	handedOver = true
	go c.serve()
}

// localAddr returns the address the request arrived on.
func localAddr(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return ""
}

// request returns a new integration request for an event of c.
func (c *conn) request(st *stage, eventType, routeKey string, now time.Time) *integration.Request {
	node := c.s.opts.Node
	return &integration.Request{
		EventType:         eventType,
		RouteKey:          routeKey,
		APIID:             st.apiID,
		Stage:             st.key.stage,
		DomainName:        c.host,
		ConnectionID:      c.id,
		ConnectedAt:       c.connectedAt,
		RequestID:         NewID(node),
		ExtendedRequestID: NewID(node),
		RequestTime:       now,
		SourceIP:          c.sourceIP,
		UserAgent:         c.userAgent,
		Headers:           c.headers,
		ForwardedPort:     c.forwardedPort,
		ForwardedProto:    c.forwardedProto,
		RawQuery:          c.rawQuery,
		StageVariables:    st.variables,
		Authorizer:        c.authorizer,
	}
}

// handshakeStatus is the HTTP status of a failed $connect integration call
// (RT-11, D-33).
func handshakeStatus(err error) int {
	if ie, ok := err.(*integration.Error); ok {
		return ie.HandshakeStatus()
	}
	return http.StatusBadGateway
}

// handleMessage routes one message (RT-21) and runs its integration off the
// read loop (RT-44). It blocks while the connection has MaxInflight calls
// running, which pauses reading from this client only.
func (s *Server) handleMessage(c *conn, msg []byte) {
	c.touch()
	st := s.table.Load().stages[c.key]
	if st == nil {
		return // the stage is gone; the connection is being closed
	}
	c.lastStage.Store(st)
	var keyBuf [128]byte
	var rt *route
	if key, ok := st.routeSelection.Evaluate(keyBuf[:0], msg); ok {
		if r := st.routes[string(key)]; r != nil && r != st.connect && r != st.disconnect {
			rt = r
		}
	}
	if rt == nil {
		rt = st.fallback
	}
	if rt == nil {
		_ = c.send(ws.OpText, errorFrame("Forbidden", c.id, NewID(s.opts.Node)))
		return
	}
	c.inflight <- struct{}{}
	s.wg.Add(1)
	go func() {
		defer func() {
			<-c.inflight
			s.wg.Done()
		}()
		s.invokeMessage(c, st, rt, msg)
	}()
}

// invokeMessage calls a message route's integration and answers the client:
// the reply on a two-way route (RT-24), an error frame on failure (RT-22,
// D-39).
func (s *Server) invokeMessage(c *conn, st *stage, rt *route, msg []byte) {
	req := c.request(st, integration.EventMessage, rt.key, s.opts.Now())
	req.MessageID = NewID(s.opts.Node)
	req.Body = msg
	if rt.integration == nil {
		s.log.Warn("route has no integration", logKeyAPI, st.key.api, logKeyStage, st.key.stage, logKeyRoute, rt.key)
		_ = c.send(ws.OpText, errorFrame("Internal server error", c.id, req.RequestID))
		return
	}
	resp, err := s.invoker.Invoke(s.ctx, rt.integration, req)
	if err == nil && rt.integration.Type != model.IntegrationAWSProxy && resp.StatusCode >= 500 {
		err = &statusError{code: resp.StatusCode}
	}
	if err != nil {
		s.log.Warn("integration failed", logKeyAPI, st.key.api, logKeyStage, st.key.stage, logKeyRoute, rt.key,
			logKeyConnectionID, c.id, logKeyRequestID, req.RequestID, logKeyError, err)
		_ = c.send(ws.OpText, errorFrame("Internal server error", c.id, req.RequestID))
		return
	}
	if rt.twoWay && resp.HasBody {
		op := ws.OpText
		if resp.Binary {
			op = ws.OpBinary
		}
		_ = c.send(op, resp.Body)
	}
}

// statusError is an integration reply whose HTTP status counts as a failure
// (D-39).
type statusError struct{ code int }

func (e *statusError) Error() string { return "integration answered HTTP " + strconv.Itoa(e.code) }

// errorFrame returns the gateway's error message for a request, byte for
// byte as API Gateway sends it (RT-21, RT-22).
func errorFrame(message, connectionID, requestID string) []byte {
	b := make([]byte, 0, 64+len(message)+2*IDLength)
	b = append(b, `{"message": "`...)
	b = append(b, message...)
	b = append(b, `", "connectionId":"`...)
	b = append(b, connectionID...)
	b = append(b, `", "requestId":"`...)
	b = append(b, requestID...)
	b = append(b, `"}`...)
	return b
}

// disconnected runs after a connection's socket has closed: $disconnect
// with the code and reason it ended with (RT-13).
func (s *Server) disconnected(c *conn, st closeStatus) {
	s.log.Debug("connection closed", logKeyConnectionID, c.id, logKeyAPI, c.key.api, logKeyStage, c.key.stage,
		logKeyCode, int(st.code), logKeyReason, st.reason)
	s.runDisconnect(c, st)
}

// runDisconnect calls the $disconnect integration of c's stage, as the
// stage's current deployment defines it.
func (s *Server) runDisconnect(c *conn, cs closeStatus) {
	st := s.table.Load().stages[c.key]
	if st == nil {
		// A reload removed the stage: its last deployment still tells the
		// backend the connection is gone.
		st = c.lastStage.Load()
	}
	if st == nil || st.disconnect == nil || st.disconnect.integration == nil {
		return
	}
	req := c.request(st, integration.EventDisconnect, st.disconnect.key, s.opts.Now())
	req.DisconnectStatusCode = int(cs.code)
	req.DisconnectReason = cs.reason
	if _, err := s.invoker.Invoke(s.ctx, st.disconnect.integration, req); err != nil {
		s.log.Warn("$disconnect integration failed", logKeyAPI, st.key.api, logKeyStage, st.key.stage,
			logKeyConnectionID, c.id, logKeyRequestID, req.RequestID, logKeyError, err)
	}
}
