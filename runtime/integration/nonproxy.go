package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/wsgwctl/wsgwctl/config/model"
)

var octetStreamContentType = []string{"application/octet-stream"}

// requestPayload appends what an HTTP or MOCK integration receives for req
// to dst: the selected request template rendered, or the message itself
// when no template matches and passthrough_behavior allows it (RT-42). A
// message that may not pass through is KindUnsupportedMediaType.
func (p *Prepared) requestPayload(dst []byte, env *renderEnv) ([]byte, *Error) {
	t, ok := selectTemplate(p.templates, p.selection, env.req.Body)
	if ok {
		return t.render(dst, env), nil
	}
	if !p.passesThrough() {
		e := p.fail(KindUnsupportedMediaType, "no request template matches the message and passthrough_behavior is "+p.passthrough, nil)
		return dst, e
	}
	return append(dst, env.req.Body...), nil
}

// respond renders the integration response that env.reply's status selects
// (D-44). hasBody is false when no response applies. Without a template
// for the selected key (nor $default), an HTTP reply's body passes through
// unchanged and a MOCK sends nothing.
func (p *Prepared) respond(env *renderEnv) (body []byte, hasBody bool) {
	r := p.selectResponse(env.reply.status)
	if r == nil {
		return nil, false
	}
	t, ok := selectTemplate(r.templates, r.selection, env.req.Body)
	if !ok {
		if p.typ == model.IntegrationMock {
			return nil, false
		}
		return bytes.Clone(env.reply.body.raw), true
	}
	if t.static {
		return []byte(t.text), true
	}
	buf := getBuffer()
	*buf = t.render(*buf, env)
	body = bytes.Clone(*buf)
	if body == nil {
		body = []byte{}
	}
	putBuffer(buf)
	return body, true
}

// callMock answers a MOCK integration (RT-43): nothing is called; the
// request payload's statusCode selects the integration response.
// It fills resp, which the caller provides so that it can keep it off the
// heap.
func (p *Prepared) callMock(req *Request, start time.Time, resp *Response) *Error {
	env := newRenderEnv(req)
	buf := getBuffer()
	defer putBuffer(buf)
	payload, ierr := p.requestPayload(*buf, &env)
	*buf = payload
	if ierr != nil {
		return ierr
	}
	status, err := mockStatus(payload)
	if err != nil {
		return p.fail(KindInvalidRequest, "read the MOCK status", err)
	}
	env.reply, env.hasReply = replyEnv{status: status, latency: time.Since(start)}, true
	*resp = Response{StatusCode: status}
	resp.Body, resp.HasBody = p.respond(&env)
	return nil
}

var statusCodePath = []model.PathStep{{Name: "statusCode"}}

// mockStatus reads the status a MOCK request payload asks for: the
// statusCode member of a JSON object, a whole number or a string of digits
// within 100..599. A payload that is not a JSON object, or has no
// statusCode (or a null one), gives 200; a statusCode of another form is an
// error.
func mockStatus(payload []byte) (int, error) {
	doc := jsonDoc{raw: payload}
	v, ok := doc.lookup(statusCodePath)
	if !ok || v[0] == 'n' {
		return http.StatusOK, nil
	}
	digits := v
	if v[0] == '"' {
		digits = v[1 : len(v)-1]
	}
	code := 0
	for _, c := range digits {
		if c < '0' || c > '9' || code > maxStatus {
			code = -1
			break
		}
		code = code*10 + int(c-'0')
	}
	if len(digits) == 0 || code < minStatus || code > maxStatus {
		return 0, errors.New("statusCode " + string(v) + " is not an HTTP status (100..599)")
	}
	return code, nil
}

// invokeHTTP sends an HTTP integration's request (RT-42) and renders the
// integration response its status selects.
func (iv *Invoker) invokeHTTP(ctx context.Context, p *Prepared, u *url.URL, req *Request, start time.Time) (*Response, *Error) {
	env := newRenderEnv(req)
	buf := getBuffer()
	payload, ierr := p.requestPayload(*buf, &env)
	*buf = payload
	if ierr != nil {
		putBuffer(buf)
		return nil, ierr
	}
	contentType := jsonContentType
	if p.contentHandling == ContentHandlingConvertToBinary {
		// The payload is base64 text to send as bytes.
		dec := getBuffer()
		var err error
		*dec, err = base64.StdEncoding.AppendDecode(*dec, bytes.TrimSpace(payload))
		putBuffer(buf)
		if err != nil {
			putBuffer(dec)
			return nil, p.fail(KindInvalidRequest, "convert the payload to binary (CONVERT_TO_BINARY): it is not base64", err)
		}
		buf = dec
		contentType = octetStreamContentType
	}
	body := &requestBody{data: *buf, pooled: buf}
	defer body.Close()
	hreq, err := newRequest(ctx, p.method, u, body)
	if err != nil {
		return nil, p.fail(KindInvalidRequest, "build the request", err)
	}
	if body.len() > 0 {
		hreq.Header["Content-Type"] = contentType
	}
	applyParams(p.params, req, hreq.Header, &hreq.Host, hreq.URL)
	hresp, err := iv.rt.RoundTrip(hreq)
	if err != nil {
		return nil, p.fail(KindUnreachable, "send the request", err)
	}
	defer hresp.Body.Close()

	raw := getBuffer()
	defer func() { putBuffer(raw) }()
	*raw, err = iv.readReply(*raw, hresp, MaxReplyBytes)
	switch {
	case errors.Is(err, errTooLarge) && req.EventType != EventMessage:
		// Nothing relays a $connect or $disconnect reply (D-33).
		*raw = (*raw)[:0]
	case err != nil:
		e := p.fail(KindInvalidReply, "read the reply", err)
		e.StatusCode = hresp.StatusCode
		return nil, e
	}
	if p.contentHandling == ContentHandlingConvertToText && !utf8.Valid(*raw) {
		enc := getBuffer()
		*enc = base64.StdEncoding.AppendEncode(*enc, *raw)
		putBuffer(raw)
		raw = enc
	}
	env.reply = replyEnv{status: hresp.StatusCode, header: hresp.Header, body: jsonDoc{raw: *raw}, latency: time.Since(start)}
	env.hasReply = true
	resp := &Response{StatusCode: hresp.StatusCode, Header: hresp.Header}
	resp.Body, resp.HasBody = p.respond(&env)
	resp.Binary = resp.HasBody && !utf8.Valid(resp.Body)
	return resp, nil
}
