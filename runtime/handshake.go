package runtime

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/runtime/apikey"
	"github.com/wsgwctl/wsgwctl/runtime/integration"
	"github.com/wsgwctl/wsgwctl/runtime/observe"
)

// serveHTTP is the gateway listener's handler: stage URLs, custom domain
// mappings and the @connections API (RT-1, RT-2, D-31).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	t := s.table.Load()
	if t == nil {
		http.Error(w, "no state loaded", http.StatusServiceUnavailable)
		return
	}
	if !isUpgrade(r) {
		// Only a handshake reads the recorded head (handshakeHeaders); a
		// request answered without one must not leave its head for the
		// next request on a kept-alive connection (D-42).
		dropHead(r)
	}
	if len(r.RequestURI) > s.opts.MaxURLLength {
		http.Error(w, "URI Too Long", http.StatusRequestURITooLong)
		return
	}
	if headSize(r) > s.opts.MaxHeaderBytes {
		w.Header().Set("Connection", "close")
		http.Error(w, "Request Header Fields Too Large", http.StatusRequestHeaderFieldsTooLarge)
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
	dropHead(r)
	http.NotFound(w, r)
}

// headSize returns the size of r's request head as a client writes it with
// one space after each colon: the request line, the Host line, every header
// line and the blank line. net/http reads up to 4 KiB more than
// MaxHeaderBytes before it answers 431 itself, so serveHTTP checks this size
// to hold heads to Options.MaxHeaderBytes.
func headSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + 2
	}
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + 2 + len(v) + 2
		}
	}
	return n + 2
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
	now := s.opts.Now()
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	if status := s.sources.admit(sourceIP, now); status != 0 {
		s.log.Debug("handshake refused by source limits", "source_ip", sourceIP, logKeyStatus, status)
		w.Header().Set("Connection", "close")
		http.Error(w, http.StatusText(status), status)
		return
	}
	defer func() {
		if !handedOver {
			s.sources.release(sourceIP)
		}
	}()

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
	c.sourceIP = sourceIP
	if _, port, err := net.SplitHostPort(localAddr(r)); err == nil {
		c.forwardedPort = port
	}
	c.lastActive.Store(now.UnixNano())

	st.metrics.Connect()
	req := c.request(st, integration.EventConnect, model.RouteConnect, now)
	resp, status := s.runConnect(r.Context(), r, c, st, req)
	if status < 200 || status > 299 {
		if status >= 300 && status <= 399 && resp != nil {
			if loc := resp.Header.Get("Location"); loc != "" {
				w.Header().Set("Location", loc)
			}
		}
		w.WriteHeader(status)
		return
	}
	var subprotocol string
	if resp != nil {
		subprotocol = resp.Header.Get("Sec-WebSocket-Protocol")
	}

	// $connect has accepted the connection: from here on @connections
	// reaches it (RT-2), and what is posted before the 101 is written waits
	// in its queue for the upgrade.
	c.lastStage.Store(st)
	c.stageMetrics = st.metrics
	st.metrics.Opened()
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
	var ahead []byte
	if n := rw.Reader.Buffered(); n > 0 {
		ahead, _ = rw.Reader.Peek(n)
	}
	_ = nc.SetDeadline(time.Time{})
	c.attach(nc, ahead)
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

// request returns a new integration request for a CONNECT or DISCONNECT
// event of c, with its request and extended request ids.
func (c *conn) request(st *stage, eventType, routeKey string, now time.Time) *integration.Request {
	req := &integration.Request{}
	c.fillRequest(req, st, eventType, routeKey, now)
	idsInto(make([]byte, 2*IDLength), c.s.opts.Node, &req.RequestID, &req.ExtendedRequestID)
	return req
}

// fillRequest sets the fields of a request for an event of c that every
// event has, except the ids.
func (c *conn) fillRequest(req *integration.Request, st *stage, eventType, routeKey string, now time.Time) {
	*req = integration.Request{
		EventType:      eventType,
		RouteKey:       routeKey,
		APIID:          st.apiID,
		Stage:          st.key.stage,
		DomainName:     c.host,
		ConnectionID:   c.id,
		ConnectedAt:    c.connectedAt,
		RequestTime:    now,
		SourceIP:       c.sourceIP,
		UserAgent:      c.userAgent,
		Headers:        c.headers,
		ForwardedPort:  c.forwardedPort,
		ForwardedProto: c.forwardedProto,
		RawQuery:       c.rawQuery,
		StageVariables: st.variables,
		Authorizer:     c.authorizer,
		APIKey:         c.apiKeyValue,
		APIKeyID:       c.apiKeyID,
	}
}

// messageRequests holds the requests of MESSAGE events, which live only
// while their message is handled.
var messageRequests = sync.Pool{New: func() any { return new(integration.Request) }}

// messageRequest returns a pooled request for a MESSAGE event of c whose
// request, extended request and message ids are written into ids (the
// spare room after the message's bytes, see msgIDSpace) or, when ids is too
// short, into one new allocation. putRequest gives it back.
func (c *conn) messageRequest(st *stage, routeKey string, msg, ids []byte, now time.Time) *integration.Request {
	req := messageRequests.Get().(*integration.Request)
	c.fillRequest(req, st, integration.EventMessage, routeKey, now)
	req.Body = msg
	if len(ids) < msgIDSpace {
		ids = make([]byte, msgIDSpace)
	}
	idsInto(ids[:msgIDSpace], c.s.opts.Node, &req.RequestID, &req.ExtendedRequestID, &req.MessageID)
	return req
}

// putRequest gives a request messageRequest returned back to the pool.
// Nothing may use it afterwards.
func putRequest(req *integration.Request) {
	*req = integration.Request{}
	messageRequests.Put(req)
}

// handshakeStatus is the HTTP status of a failed $connect integration call
// (RT-11, D-33).
func handshakeStatus(err error) int {
	if ie, ok := err.(*integration.Error); ok {
		return ie.HandshakeStatus()
	}
	return http.StatusBadGateway
}

// runConnect decides a handshake (RT-10, RT-11, D-26): the $connect
// throttle, then the $connect integration when the stage has one. It
// returns the integration's response (nil without one) and the status that
// answers the handshake, and logs the CONNECT event.
func (s *Server) runConnect(ctx context.Context, r *http.Request, c *conn, st *stage, req *integration.Request) (*integration.Response, int) {
	start := time.Now()
	rt := st.connect
	metrics, exec := st.noRoute, st.connExec
	if rt != nil {
		metrics, exec = rt.metrics, rt.exec
	}
	var (
		resp   *integration.Response
		err    error
		status = http.StatusOK
	)
	switch {
	case !st.connectBucket.Allow(req.RequestTime):
		status = http.StatusTooManyRequests
		req.ErrorMessage, req.ErrorResponseType = messageTooManyRequests, integration.ResponseTypeThrottled
		metrics.ClientError()
	default:
		if status, err = s.admit(ctx, r, c, st, req); status != http.StatusOK {
			metrics.ClientError()
			break
		}
		if rt == nil || rt.integration == nil {
			break
		}
		resp, err = s.invoker.Call(ctx, rt.integration, req)
		if resp != nil {
			status = resp.StatusCode
			req.IntegrationStatus, req.IntegrationLatency = resp.StatusCode, resp.Latency
			metrics.IntegrationLatency(resp.Latency)
		}
		if err != nil {
			status = handshakeStatus(err)
			s.integrationFailed(req, metrics, err)
		}
	}
	req.Status = status
	s.logEvent(st, exec, req, start, err, nil, nil)
	return resp, status
}

// admit runs the $connect route's authorization in D-26's order, after the
// throttle: AWS_IAM (RT-52), the CUSTOM authorizer (RT-50), then the API key
// (RT-51), whose value may come from the authorizer's usageIdentifierKey. It
// returns 200, or the status that refuses the handshake (with the error for
// the logs). What it learns is kept on c (and req) for every later event.
func (s *Server) admit(ctx context.Context, r *http.Request, c *conn, st *stage, req *integration.Request) (int, error) {
	if st.iam {
		if st.verifier == nil {
			req.ErrorMessage, req.ErrorResponseType = messageForbidden, integration.ResponseTypeAccessDenied
			return http.StatusForbidden, errNoCredentials
		}
		if _, err := st.verifier.Verify(r, nil); err != nil {
			req.ErrorMessage, req.ErrorResponseType = messageForbidden, integration.ResponseTypeAccessDenied
			return http.StatusForbidden, err
		}
	}
	var usageIdentifierKey string
	if st.authorizer != nil {
		res, err := st.authorizer.Authorize(ctx, req)
		if !res.Allowed() {
			req.ErrorMessage, req.ErrorResponseType = http.StatusText(res.Status), res.ResponseType()
			return res.Status, err
		}
		c.authorizer = res.Authorizer()
		req.Authorizer = c.authorizer
		usageIdentifierKey = res.UsageIdentifierKey
	}
	if st.apiKeyRequired {
		value := st.apiKeySelection.EvaluateAPIKey(r.Header.Get, usageIdentifierKey)
		out := st.keys.Check(st.key.api, st.key.stage, value, req.RequestTime)
		req.APIKeyID = out.KeyID
		if out.Status != http.StatusOK {
			req.ErrorMessage, req.ErrorResponseType = http.StatusText(out.Status), apiKeyResponseType(out.Reason)
			return out.Status, errors.New("api key: " + out.Reason.String())
		}
		c.apiKey, c.apiKeyValue, c.apiKeyID = out.Ref, value, out.KeyID
		req.APIKey = value
	}
	return http.StatusOK, nil
}

// errNoCredentials refuses an AWS_IAM handshake when the configuration has
// no credentials to check its signature against.
var errNoCredentials = errors.New("the $connect route requires AWS_IAM, and no credentials are configured")

// apiKeyResponseType is the gateway response type of a refused API key.
func apiKeyResponseType(r apikey.Reason) string {
	switch r {
	case apikey.Throttled:
		return integration.ResponseTypeThrottled
	case apikey.QuotaExceeded:
		return integration.ResponseTypeQuotaExceeded
	}
	return integration.ResponseTypeInvalidAPIKey
}

// handleMessage routes one message (RT-21) and throttles it (RT-25), then
// runs its integration (RT-44): one that calls a backend runs off the read
// loop, on its own goroutine; a MOCK integration, or a route without one,
// does no I/O and runs on the read loop, without a goroutine. Either way the
// call holds one of the connection's MaxInflight slots, and handleMessage
// blocks while all are taken, which pauses reading from this client only.
// ids is spare room for the request's ids (see messageRequest).
func (s *Server) handleMessage(c *conn, msg, ids []byte) {
	now := s.opts.Now()
	c.lastActive.Store(now.UnixNano()) // one clock read serves activity, throttles and the request
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
		st.noRoute.MessageIn()
		s.refuseMessage(c, st, nil, msg, ids, now, http.StatusForbidden, messageForbidden, integration.ResponseTypeAccessDenied)
		return
	}
	rt.metrics.MessageIn()
	if !c.apiKey.IsZero() {
		// D-41: the connection's key counts its messages too.
		if out := st.keys.CheckRef(st.key.api, st.key.stage, c.apiKey, now); out.Status != http.StatusOK {
			message, responseType := messageForbidden, integration.ResponseTypeInvalidAPIKey
			if out.Status == http.StatusTooManyRequests {
				message, responseType = messageTooManyRequests, apiKeyResponseType(out.Reason)
			}
			s.refuseMessage(c, st, rt, msg, ids, now, out.Status, message, responseType)
			return
		}
	}
	if !rt.bucket.Allow(now) {
		s.refuseMessage(c, st, rt, msg, ids, now, http.StatusTooManyRequests, messageTooManyRequests, integration.ResponseTypeThrottled)
		return
	}
	c.inflight <- struct{}{}
	if rt.integration == nil || rt.integrationType == model.IntegrationMock {
		c.holdWrites()
		s.invokeMessage(c, st, rt, msg, ids, now)
		c.flushHeld()
		<-c.inflight
		return
	}
	s.wg.Add(1)
	go func() {
		defer func() {
			<-c.inflight
			s.wg.Done()
		}()
		s.invokeMessage(c, st, rt, msg, ids, now)
	}()
}

// Error messages the gateway answers refused messages and handshakes with.
const (
	messageForbidden       = "Forbidden"
	messageTooManyRequests = "Too Many Requests"
	messageBadRequestBody  = "Bad request body"
)

// refuseMessage answers a message the gateway refuses before any
// integration runs: no route (RT-21) or throttled (RT-25).
func (s *Server) refuseMessage(c *conn, st *stage, rt *route, msg, ids []byte, now time.Time, status int, message, responseType string) {
	// Runs on the read loop: the error frame goes out in the reader's own
	// write, like a MOCK reply, not through a new writer goroutine.
	c.holdWrites()
	defer c.flushHeld()
	metrics, exec, key := st.noRoute, st.noRouteExec, ""
	if rt != nil {
		metrics, exec, key = rt.metrics, rt.exec, rt.key
	}
	metrics.ClientError()
	req := c.messageRequest(st, key, msg, ids, now)
	defer putRequest(req)
	req.Status, req.ErrorMessage, req.ErrorResponseType = status, message, responseType
	s.reply(c, metrics, errorFrame(message, c.id, "requestId", req.RequestID))
	s.logEvent(st, exec, req, now, nil, msg, nil)
}

// invokeMessage validates a message against its route's models (RT-23),
// calls the route's integration and answers the client: the reply on a
// two-way route (RT-24), an error frame on failure (RT-22, D-39, D-44).
func (s *Server) invokeMessage(c *conn, st *stage, rt *route, msg, ids []byte, now time.Time) {
	start := time.Now()
	req := c.messageRequest(st, rt.key, msg, ids, now)
	defer putRequest(req)
	if err := rt.validator.Validate(msg); err != nil {
		rt.metrics.ClientError()
		req.Status, req.ErrorMessage, req.ErrorResponseType = http.StatusBadRequest, messageBadRequestBody, integration.ResponseTypeBadRequestBody
		req.ValidationError = err.Error()
		s.reply(c, rt.metrics, errorFrame(messageBadRequestBody, c.id, "messageId", req.MessageID))
		s.logEvent(st, rt.exec, req, start, err, msg, nil)
		return
	}
	if rt.integration == nil {
		err := errNoIntegration
		rt.metrics.ExecutionError()
		req.Status, req.ErrorMessage, req.ErrorResponseType = http.StatusInternalServerError, integration.MessageInternalServerError, integration.ResponseTypeDefault5XX
		s.reply(c, rt.metrics, errorFrame(integration.MessageInternalServerError, c.id, "requestId", req.RequestID))
		s.logEvent(st, rt.exec, req, start, err, msg, nil)
		return
	}
	var resp integration.Response
	err := s.invoker.CallInto(s.ctx, rt.integration, req, &resp)
	if err == nil {
		req.IntegrationStatus, req.IntegrationLatency = resp.StatusCode, resp.Latency
		rt.metrics.IntegrationLatency(resp.Latency)
		// D-39: an HTTP status of 500 or more from the integration's
		// endpoint fails the message. A Lambda result's own statusCode is
		// not examined, and a MOCK has no endpoint.
		if resp.StatusCode >= 500 && (rt.integrationType == model.IntegrationHTTPProxy || rt.integrationType == model.IntegrationHTTP) {
			err = &statusError{code: resp.StatusCode}
		}
	}
	if err != nil {
		message := s.integrationFailed(req, rt.metrics, err)
		s.reply(c, rt.metrics, errorFrame(message, c.id, "requestId", req.RequestID))
		s.logEvent(st, rt.exec, req, start, err, msg, nil)
		return
	}
	req.Status = http.StatusOK
	var body []byte
	if rt.twoWay && resp.HasBody {
		body = resp.Body
		op := ws.OpText
		if resp.Binary {
			op = ws.OpBinary
		}
		if c.send(op, body) == nil {
			rt.metrics.MessageOut()
		}
	}
	s.logEvent(st, rt.exec, req, start, nil, msg, body)
}

// reply sends a gateway-made text message to c, counting it as outbound.
func (s *Server) reply(c *conn, metrics *observe.RouteMetrics, payload []byte) {
	if c.send(ws.OpText, payload) == nil {
		metrics.MessageOut()
	}
}

// integrationFailed records a failed integration call in req and the
// metrics, and returns the message of the error frame that answers it.
func (s *Server) integrationFailed(req *integration.Request, metrics *observe.RouteMetrics, err error) string {
	message, responseType := integration.MessageInternalServerError, integration.ResponseTypeIntegrationFailure
	var ie *integration.Error
	if errors.As(err, &ie) {
		message, responseType = ie.ClientMessage(), ie.ResponseType()
	}
	if responseType == integration.ResponseTypeUnsupportedMediaType {
		req.Status = http.StatusUnsupportedMediaType
		metrics.ClientError()
	} else {
		req.Status = http.StatusInternalServerError
		metrics.IntegrationError()
	}
	req.ErrorMessage, req.ErrorResponseType, req.IntegrationError = message, responseType, err.Error()
	return message
}

// errNoIntegration fails a message whose route has no integration.
var errNoIntegration = errors.New("the route has no integration")

// statusError is an integration reply whose HTTP status counts as a failure
// (D-39).
type statusError struct{ code int }

func (e *statusError) Error() string { return "integration answered HTTP " + strconv.Itoa(e.code) }

// errorFrame returns the gateway's error message for a request, byte for
// byte as API Gateway sends it (RT-21, RT-22, RT-23, RT-25): idKey is
// "requestId", or "messageId" for a request validation failure.
func errorFrame(message, connectionID, idKey, id string) []byte {
	b := make([]byte, 0, 64+len(message)+2*IDLength)
	b = append(b, `{"message": "`...)
	b = append(b, message...)
	b = append(b, `", "connectionId":"`...)
	b = append(b, connectionID...)
	b = append(b, `", "`...)
	b = append(b, idKey...)
	b = append(b, `":"`...)
	b = append(b, id...)
	b = append(b, `"}`...)
	return b
}

// logEvent writes an event's access log line (RT-32) and its execution log
// (logging_level, data_trace_enabled).
func (s *Server) logEvent(st *stage, exec observe.ExecLog, req *integration.Request, start time.Time, err error, reqBody, respBody []byte) {
	if st.accessLog != nil {
		st.accessLog.Log(req.ContextValue)
	}
	failed := err != nil || req.Status >= 400
	if !exec.Enabled(failed) {
		return
	}
	ev := &observe.Event{
		API:          st.key.api,
		Stage:        st.key.stage,
		Route:        req.RouteKey,
		ConnectionID: req.ConnectionID,
		RequestID:    req.RequestID,
		EventType:    req.EventType,
		Status:       req.Status,
		Latency:      time.Since(start),
		Err:          err,
	}
	if exec.DataTrace() {
		ev.Request, ev.Response = reqBody, respBody
	}
	exec.Log(s.ctx, ev)
}

// disconnected runs after a connection's socket has closed: $disconnect
// with the code and reason it ended with (RT-13).
func (s *Server) disconnected(c *conn, st closeStatus) {
	s.log.Debug("connection closed", logKeyConnectionID, c.id, logKeyAPI, c.key.api, logKeyStage, c.key.stage,
		logKeyCode, int(st.code), logKeyReason, st.reason)
	s.runDisconnect(c, st)
}

// runDisconnect ends an accepted connection's life: it counts it closed and
// calls the $disconnect integration of its stage, as the stage's current
// deployment defines it (or the last one it ran on, when a reload removed
// the stage).
func (s *Server) runDisconnect(c *conn, cs closeStatus) {
	if c.stageMetrics != nil {
		c.stageMetrics.Closed()
	}
	st := s.table.Load().stages[c.key]
	if st == nil {
		st = c.lastStage.Load()
	}
	if st == nil {
		return
	}
	start := time.Now()
	req := c.request(st, integration.EventDisconnect, model.RouteDisconnect, s.opts.Now())
	req.DisconnectStatusCode = int(cs.code)
	req.DisconnectReason = cs.reason
	rt := st.disconnect
	if rt == nil || rt.integration == nil {
		req.Status = http.StatusOK
		s.logEvent(st, st.disconnExec, req, start, nil, nil, nil)
		return
	}
	resp, err := s.invoker.Call(s.ctx, rt.integration, req)
	req.Status = http.StatusOK
	if resp != nil {
		req.Status, req.IntegrationStatus, req.IntegrationLatency = resp.StatusCode, resp.StatusCode, resp.Latency
		rt.metrics.IntegrationLatency(resp.Latency)
	}
	if err != nil {
		s.integrationFailed(req, rt.metrics, err)
		s.log.Warn("$disconnect integration failed", logKeyAPI, st.key.api, logKeyStage, st.key.stage,
			logKeyConnectionID, c.id, logKeyRequestID, req.RequestID, logKeyError, err)
	}
	s.logEvent(st, rt.exec, req, start, err, nil, nil)
}
