package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// Reading limits.
const (
	// MaxReplyBytes is the largest HTTP_PROXY reply body Invoke reads: a
	// larger reply to a message is KindInvalidReply, because no frame could
	// carry it (RT-20's message limit).
	MaxReplyBytes = 131072
	// MaxLambdaResultBytes is the largest Lambda proxy result Invoke reads,
	// Lambda's own limit for a synchronous response payload.
	MaxLambdaResultBytes = 6 << 20
	// DefaultTimeout applies when an integration's TimeoutMS is not positive.
	DefaultTimeout = 29 * time.Second
)

// Options configure an Invoker.
type Options struct {
	// Transport makes the HTTP calls; redirects are never followed. Nil
	// means SharedTransport().
	Transport http.RoundTripper
	// ReplyBudget bounds the memory all calls in progress may hold for
	// backend replies together, in bytes; a call whose reply does not fit
	// fails as KindInvalidReply instead of growing the gateway's memory.
	// Default DefaultReplyBudget.
	ReplyBudget int64
}

// DefaultReplyBudget is Options.ReplyBudget's default: 256 MiB, room for
// dozens of maximal Lambda results at once while keeping a flood of huge
// replies from taking the machine.
const DefaultReplyBudget = 256 << 20

// Invoker calls integrations of every type. It is safe for
// concurrent use; one Invoker serves the whole gateway.
type Invoker struct {
	rt     http.RoundTripper
	budget *budget
	// cache maps weak.Pointer[model.Integration] to *Prepared. An entry is
	// deleted when its integration is garbage collected.
	cache sync.Map
}

// NewInvoker returns an Invoker using opts.
func NewInvoker(opts Options) *Invoker {
	rt := opts.Transport
	if rt == nil {
		rt = SharedTransport()
	}
	b := opts.ReplyBudget
	if b <= 0 {
		b = DefaultReplyBudget
	}
	return &Invoker{rt: rt, budget: newBudget(b)}
}

// CloseIdleConnections closes the idle keep-alive connections of the
// Invoker's transport, if it has such a method.
func (iv *Invoker) CloseIdleConnections() {
	if c, ok := iv.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

var shared = sync.OnceValue(newSharedTransport)

// SharedTransport returns the process-wide transport that Invokers use when
// Options.Transport is nil: keep-alive connections pooled per backend (up to
// 512 idle per host, closed after 90 s idle), a 10 s dial and TLS handshake
// timeout, TCP keep-alive, HTTP/2 when a TLS backend offers it, no proxy
// from the environment, and no transparent gzip. Other runtime packages
// (authorizers) may share it.
func SharedTransport() *http.Transport { return shared() }

func newSharedTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           4096,
		MaxIdleConnsPerHost:    512,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true,
	}
}

// preparedFor returns Invoke's preparation of in, made on first use, with
// stage variables resolved per request.
func (iv *Invoker) preparedFor(in *model.Integration) *Prepared {
	key := weak.Make(in)
	if v, ok := iv.cache.Load(key); ok {
		return v.(*Prepared)
	}
	p, err := prepare(in, nil, false)
	if err != nil {
		p = &Prepared{name: in.Name, typ: in.Type, err: err}
	}
	if v, loaded := iv.cache.LoadOrStore(key, p); loaded {
		return v.(*Prepared)
	}
	cache := &iv.cache
	goruntime.AddCleanup(in, func(k weak.Pointer[model.Integration]) { cache.Delete(k) }, key)
	return p
}

// endpoint returns the URL to call for req. The caller copies it into its
// request, so the static URL is never modified.
func (p *Prepared) endpoint(req *Request) (*url.URL, error) {
	if p.staticURL != nil {
		return p.staticURL, nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	env := newRenderEnv(req)
	*buf = p.uri.render(*buf, &env)
	return parseEndpoint(string(*buf))
}

// Invoke calls the integration in for req and returns its answer, like
// Call with a preparation that Invoke makes on the first call for in and
// keeps while in is reachable; stage variables then come from
// req.StageVariables on every call. in must not be modified after its first
// call. An integration that does not prepare gives an *Error of Kind
// KindInvalidRequest (KindUnsupported for an unknown type).
func (iv *Invoker) Invoke(ctx context.Context, in *model.Integration, req *Request) (*Response, error) {
	if in == nil || req == nil {
		return nil, &Error{Kind: KindInvalidRequest, msg: "no integration or request"}
	}
	switch in.Type {
	case model.IntegrationAWSProxy, model.IntegrationHTTPProxy, model.IntegrationHTTP, model.IntegrationMock:
	default:
		return nil, &Error{Kind: KindUnsupported, Integration: in.Name, Type: in.Type,
			msg: "unsupported integration type " + strconv.Quote(in.Type)}
	}
	return iv.Call(ctx, iv.preparedFor(in), req)
}

// Call runs the prepared integration p for req and returns its answer:
//
//   - AWS_PROXY posts the Lambda proxy event and reads the Lambda proxy
//     result (RT-40, D-40);
//   - HTTP_PROXY proxies the message or handshake (RT-41, D-43);
//   - HTTP sends the selected request template, rendered, with method to
//     the uri, and renders the integration response the status selects
//     (RT-42, D-44);
//   - MOCK calls nothing: the rendered request template's statusCode
//     (default 200) selects the integration response (RT-43).
//
// The call is bounded by ctx and by the integration's timeout_ms
// (DefaultTimeout when not positive); running out of the latter is
// KindTimeout, the end of ctx is KindCanceled. A backend's status is never
// an error: the caller decides what it means (RT-11, D-39) from
// Response.StatusCode. Every error is an *Error. req is only read, and Call
// does not touch req.Body after it returns.
func (iv *Invoker) Call(ctx context.Context, p *Prepared, req *Request) (*Response, error) {
	start := time.Now()
	if p == nil || req == nil {
		return nil, &Error{Kind: KindInvalidRequest, msg: "no integration or request"}
	}
	if p.err != nil {
		return nil, p.fail(KindInvalidRequest, "build the request", p.err)
	}
	if p.typ == model.IntegrationMock {
		resp := &Response{}
		if ierr := p.callMock(req, start, resp); ierr != nil {
			return nil, ierr
		}
		resp.Latency = time.Since(start)
		return resp, nil
	}
	u, err := p.endpoint(req)
	if err != nil {
		return nil, p.fail(KindInvalidRequest, "build the request", err)
	}
	callCtx, cancel := context.WithTimeoutCause(ctx, p.timeout, errIntegrationTimeout)
	defer cancel()
	var resp *Response
	var ierr *Error
	switch p.typ {
	case model.IntegrationAWSProxy:
		resp, ierr = iv.invokeAWSProxy(callCtx, p, u, req)
	case model.IntegrationHTTPProxy:
		resp, ierr = iv.invokeHTTPProxy(callCtx, p, u, req)
	default:
		resp, ierr = iv.invokeHTTP(callCtx, p, u, req, start)
	}
	if ierr != nil {
		if ierr.Kind == KindUnreachable || ierr.Kind == KindInvalidReply && ierr.Err != nil {
			switch {
			case ctx.Err() != nil:
				ierr.Kind, ierr.msg = KindCanceled, "the caller gave up"
			case callCtx.Err() != nil:
				ierr.Kind, ierr.msg = KindTimeout, "no answer within "+p.timeout.String()
			}
		}
		return nil, ierr
	}
	resp.Latency = time.Since(start)
	return resp, nil
}

// CallInto is Call for a caller that provides the Response: it overwrites
// *resp with the answer and returns Call's error (an *Error), leaving *resp
// zero on failure. A MOCK call then allocates nothing but the rendered
// reply, which lets the gateway answer MOCK routes without per-message
// garbage; other types cost what Call costs.
func (iv *Invoker) CallInto(ctx context.Context, p *Prepared, req *Request, resp *Response) error {
	*resp = Response{}
	if p != nil && req != nil && p.err == nil && p.typ == model.IntegrationMock {
		start := time.Now()
		if ierr := p.callMock(req, start, resp); ierr != nil {
			*resp = Response{}
			return ierr
		}
		resp.Latency = time.Since(start)
		return nil
	}
	r, err := iv.Call(ctx, p, req)
	if err != nil {
		return err
	}
	*resp = *r
	return nil
}

func (p *Prepared) fail(kind Kind, msg string, err error) *Error {
	return &Error{Kind: kind, Integration: p.name, Type: p.typ, msg: msg, Err: err}
}

// newRequest returns a request for a copy of u with ctx, carrying body
// (which Invoke closes when it returns).
func newRequest(ctx context.Context, method string, u *url.URL, body *requestBody) (*http.Request, error) {
	hreq, err := http.NewRequestWithContext(ctx, method, "", nil)
	if err != nil {
		return nil, err
	}
	*hreq.URL = *u
	if body != nil && body.len() > 0 {
		hreq.Body = body
		hreq.ContentLength = int64(body.len())
	}
	return hreq, nil
}

var jsonContentType = []string{"application/json"}

// invokeAWSProxy posts the Lambda proxy event (RT-40) and reads the result.
func (iv *Invoker) invokeAWSProxy(ctx context.Context, c *Prepared, u *url.URL, req *Request) (*Response, *Error) {
	buf := getBuffer()
	*buf = appendEvent(*buf, req)
	body := &requestBody{data: *buf, pooled: buf}
	defer body.Close()
	hreq, err := newRequest(ctx, http.MethodPost, u, body)
	if err != nil {
		return nil, c.fail(KindInvalidRequest, "build the request", err)
	}
	hreq.Header["Content-Type"] = jsonContentType
	applyParams(c.params, req, hreq.Header, &hreq.Host, hreq.URL)
	hresp, err := iv.rt.RoundTrip(hreq)
	if err != nil {
		return nil, c.fail(KindUnreachable, "send the event", err)
	}
	defer hresp.Body.Close()

	raw := getBuffer()
	defer putBuffer(raw)
	*raw, err = iv.readReply(*raw, hresp, MaxLambdaResultBytes)
	if err != nil {
		e := c.fail(KindInvalidReply, "read the Lambda result", err)
		e.StatusCode = hresp.StatusCode
		return nil, e
	}
	if hresp.Header.Get("X-Amz-Function-Error") != "" {
		e := c.fail(KindFunctionError, "the function failed", nil)
		e.StatusCode = hresp.StatusCode
		e.ErrorMessage, e.ErrorType = functionErrorDetails(*raw)
		if e.ErrorMessage != "" {
			e.msg += ": " + e.ErrorMessage
		}
		return nil, e
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		e := c.fail(KindInvalidReply, "the invoke endpoint answered HTTP "+strconv.Itoa(hresp.StatusCode), nil)
		e.StatusCode = hresp.StatusCode
		return nil, e
	}
	resp, perr := parseLambdaResult(*raw)
	if perr != nil {
		perr.Integration, perr.Type, perr.StatusCode = c.name, c.typ, hresp.StatusCode
		return nil, perr
	}
	return resp, nil
}

// invokeHTTPProxy sends the HTTP_PROXY request (RT-41, D-43) and reads the
// backend's reply.
func (iv *Invoker) invokeHTTPProxy(ctx context.Context, c *Prepared, u *url.URL, req *Request) (*Response, *Error) {
	var body *requestBody
	if req.EventType == EventMessage && len(req.Body) > 0 {
		body = &requestBody{data: req.Body}
		defer body.Close()
	}
	hreq, err := newRequest(ctx, c.method, u, body)
	if err != nil {
		return nil, c.fail(KindInvalidRequest, "build the request", err)
	}
	switch req.EventType {
	case EventConnect:
		setHandshakeHeaders(hreq, req)
		if req.RawQuery != "" {
			if hreq.URL.RawQuery == "" {
				hreq.URL.RawQuery = req.RawQuery
			} else {
				hreq.URL.RawQuery += "&" + req.RawQuery
			}
		}
	case EventDisconnect:
		if req.DomainName != "" {
			hreq.Host = req.DomainName
		}
		for _, name := range disconnectHeaders[1:] {
			hreq.Header[name] = emptyValue
		}
		// The DISCONNECT header set is exact: no default User-Agent.
		hreq.Header["User-Agent"] = emptyValue
	}
	applyParams(c.params, req, hreq.Header, &hreq.Host, hreq.URL)
	hresp, err := iv.rt.RoundTrip(hreq)
	if err != nil {
		return nil, c.fail(KindUnreachable, "send the request", err)
	}
	defer hresp.Body.Close()

	raw := getBuffer()
	defer putBuffer(raw)
	resp := &Response{StatusCode: hresp.StatusCode, Header: hresp.Header, HasBody: true}
	*raw, err = iv.readReply(*raw, hresp, MaxReplyBytes)
	switch {
	case errors.Is(err, errTooLarge) && req.EventType != EventMessage:
		// Nothing relays a $connect or $disconnect body (D-33).
		resp.HasBody = false
	case err != nil:
		e := c.fail(KindInvalidReply, "read the reply", err)
		e.StatusCode = hresp.StatusCode
		return nil, e
	case len(*raw) > 0:
		resp.Body = bytes.Clone(*raw)
	}
	return resp, nil
}

var emptyValue = []string{""}

// setHandshakeHeaders copies the handshake's headers to an HTTP_PROXY
// CONNECT request, except the ones droppedHandshakeHeader names and those
// listed in the handshake's Connection header, and adds X-Forwarded-*.
func setHandshakeHeaders(hreq *http.Request, req *Request) {
	var connTokens []string
	for _, h := range req.Headers {
		if strings.EqualFold(h.Name, "Connection") {
			for tok := range strings.SplitSeq(h.Value, ",") {
				if tok = strings.TrimSpace(tok); tok != "" {
					connTokens = append(connTokens, tok)
				}
			}
		}
	}
	for _, h := range req.Headers {
		if droppedHandshakeHeader(h.Name) || isForwardedHeader(h.Name) {
			continue
		}
		if containsFold(connTokens, h.Name) {
			continue
		}
		if strings.EqualFold(h.Name, "Host") {
			hreq.Host = h.Value
			continue
		}
		hreq.Header.Add(h.Name, h.Value)
	}
	hreq.Header.Set("X-Forwarded-For", req.SourceIP)
	if req.ForwardedPort != "" {
		hreq.Header.Set("X-Forwarded-Port", req.ForwardedPort)
	}
	if req.ForwardedProto != "" {
		hreq.Header.Set("X-Forwarded-Proto", req.ForwardedProto)
	}
}

// droppedHandshakeHeader reports whether a handshake header stays out of an
// HTTP_PROXY CONNECT request: the hop-by-hop headers of RFC 9110 §7.6.1
// (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Authorization, Proxy-Authenticate), the
// WebSocket handshake's own headers (Sec-WebSocket-Key, -Version,
// -Extensions, -Accept), which describe the client's connection to the
// gateway and would make a backend try to upgrade, and the framing headers
// Content-Length and Expect. Sec-WebSocket-Protocol is kept so that a
// backend can choose a subprotocol (RT-12).
func droppedHandshakeHeader(name string) bool {
	for _, d := range droppedHeaders {
		if strings.EqualFold(name, d) {
			return true
		}
	}
	return false
}

var droppedHeaders = [...]string{
	"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
	"Proxy-Authorization", "Proxy-Authenticate",
	"Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept",
	"Content-Length", "Expect",
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// readReply reads a reply body of at most limit bytes into dst. A
// Content-Length over the limit fails before anything is read, and the
// memory the body takes is reserved from the Invoker's budget as it grows.
func (iv *Invoker) readReply(dst []byte, hresp *http.Response, limit int) ([]byte, error) {
	if hresp.ContentLength > int64(limit) {
		return dst, errTooLarge
	}
	return readLimited(dst, hresp.Body, limit, iv.budget)
}

// replyChunk is the size of the pooled chunks larger replies are read in,
// and the step in which they are paid from a budget.
const replyChunk = 64 << 10

var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, replyChunk)
	return &b
}}

// readLimited appends everything r yields to dst, failing with errTooLarge
// once more than limit bytes arrived, and with errBudget when b (nil: no
// budget) cannot cover them. A reply that fits dst's capacity is read in
// place; a larger one is read in pooled chunks, each paid from b, and
// joined once at the end, so neither a growing buffer's garbage nor a
// reply that turns out too large costs more memory than b allows.
func readLimited(dst []byte, r io.Reader, limit int, b *budget) ([]byte, error) {
	start := len(dst)
	for len(dst) < cap(dst) {
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst, errTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
	var (
		chunks   []*[]byte
		last     int // bytes in the last chunk
		reserved int64
	)
	defer func() {
		for _, c := range chunks {
			chunkPool.Put(c)
		}
		b.release(reserved)
	}()
	size := len(dst) - start
	for {
		if !b.reserve(replyChunk) {
			return dst, errBudget
		}
		reserved += replyChunk
		c := chunkPool.Get().(*[]byte)
		chunks = append(chunks, c)
		n, err := io.ReadFull(r, *c)
		last = n
		size += n
		if size > limit {
			return dst, errTooLarge
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return dst, err
		}
	}
	// The joined buffer is paid for too while this call holds it.
	joined := int64(start + size)
	if !b.reserve(joined) {
		return dst, errBudget
	}
	reserved += joined
	dst = slices.Grow(dst, start+size-len(dst))
	for i, c := range chunks {
		n := replyChunk
		if i == len(chunks)-1 {
			n = last
		}
		dst = append(dst, (*c)[:n]...)
	}
	return dst, nil
}

// budget is memory shared by all calls in progress.
type budget struct{ left atomic.Int64 }

func newBudget(n int64) *budget {
	b := &budget{}
	b.left.Store(n)
	return b
}

// reserve takes n bytes from the budget, reporting false when it has not
// that many left.
func (b *budget) reserve(n int64) bool {
	if b == nil {
		return true
	}
	if b.left.Add(-n) < 0 {
		b.left.Add(n)
		return false
	}
	return true
}

// release gives n reserved bytes back.
func (b *budget) release(n int64) {
	if b != nil && n > 0 {
		b.left.Add(n)
	}
}

// requestBody is a request body that Invoke can cut off: the transport may
// read and close a body from another goroutine, even after RoundTrip
// returned, so Invoke closes it itself before returning. Reads after Close
// fail, and a pooled buffer goes back to the pool on the first Close.
type requestBody struct {
	mu     sync.Mutex
	data   []byte
	off    int
	pooled *[]byte
	done   bool
}

func (b *requestBody) len() int { return len(b.data) }

// Read implements io.Reader.
func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0, io.ErrClosedPipe
	}
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

// Close implements io.Closer; it may be called more than once.
func (b *requestBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.done = true
		b.data = nil
		if b.pooled != nil {
			putBuffer(b.pooled)
			b.pooled = nil
		}
	}
	return nil
}
