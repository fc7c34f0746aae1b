package runtime

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// maxCapturedHead bounds how much of a connection's first request head is
// kept to recover header names as the client wrote them.
const maxCapturedHead = 16 << 10

// captureListener wraps accepted connections in captureConns.
//
// net/http canonicalises header names ("x-api-key" becomes "X-Api-Key"), but
// the CONNECT event carries the handshake's headers as the client sent them
// (D-42). A WebSocket handshake is the first request on its connection, so
// keeping the bytes of that first request head is enough to recover the
// original names; recording stops at the end of the head, so later traffic
// costs one branch per read.
type captureListener struct {
	net.Listener
}

func (l captureListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &captureConn{Conn: c}
	cc.recording.Store(true)
	return cc, nil
}

// captureConn records the bytes read from a connection until the end of the
// first request head.
type captureConn struct {
	net.Conn

	// recording is read without the lock on every Read; mu guards head and
	// the transitions of recording.
	recording atomic.Bool
	mu        sync.Mutex
	head      []byte
}

func (c *captureConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.recording.Load() {
		c.mu.Lock()
		if c.recording.Load() {
			// Search only what is new (and the 3 bytes before it), so a
			// head sent a byte at a time costs linear time, not quadratic.
			from := max(len(c.head)-3, 0)
			c.head = append(c.head, p[:n]...)
			if i := bytes.Index(c.head[from:], []byte("\r\n\r\n")); i >= 0 {
				c.head = c.head[:from+i+2]
				c.recording.Store(false)
			} else if len(c.head) > maxCapturedHead {
				c.head = nil
				c.recording.Store(false)
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite half-closes the connection when the underlying one supports it.
func (c *captureConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// takeHead returns the recorded first request head and forgets it.
func (c *captureConn) takeHead() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.head
	c.head = nil
	c.recording.Store(false)
	return h
}

type captureKey struct{}

// withCaptureConn is the http.Server's ConnContext: it makes the connection's
// captureConn reachable from its requests.
func withCaptureConn(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*captureConn); ok {
		return context.WithValue(ctx, captureKey{}, cc)
	}
	return ctx
}

// isTLS reports whether r arrived over TLS.
func isTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	cc, ok := r.Context().Value(captureKey{}).(*captureConn)
	if !ok {
		return false
	}
	_, ok = cc.Conn.(*tls.Conn)
	return ok
}

// dropHead forgets the head recorded for r's connection, for a request that
// is answered without reading it, and records again for the connection's
// next request when this one has no body. Bytes of that request net/http read ahead are missed; the
// request-line check in parseHead then falls back to canonical names.
func dropHead(r *http.Request) {
	if cc, ok := r.Context().Value(captureKey{}).(*captureConn); ok {
		cc.mu.Lock()
		cc.head = cc.head[:0]
		// A request with a body (an @connections POST) would record the
		// body next: recording stops for such a connection instead.
		cc.recording.Store(r.ContentLength == 0 && len(r.TransferEncoding) == 0)
		cc.mu.Unlock()
	}
}

// handshakeHeaders returns r's headers in the order and casing the client
// sent them when the recorded head belongs to r, and otherwise r.Header in
// canonical form (sorted by name).
func handshakeHeaders(r *http.Request) []integration.Header {
	if cc, ok := r.Context().Value(captureKey{}).(*captureConn); ok {
		if hs, ok := parseHead(cc.takeHead(), r); ok {
			return hs
		}
	}
	var hs []integration.Header
	names := make([]string, 0, len(r.Header)+1)
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	hs = append(hs, integration.Header{Name: "Host", Value: r.Host})
	for _, name := range names {
		for _, v := range r.Header[name] {
			hs = append(hs, integration.Header{Name: name, Value: v})
		}
	}
	return hs
}

// parseHead splits a recorded request head into headers, checking that its
// request line is r's.
func parseHead(head []byte, r *http.Request) ([]integration.Header, bool) {
	if len(head) == 0 {
		return nil, false
	}
	lines := strings.Split(strings.TrimSuffix(string(head), "\r\n"), "\r\n")
	method, rest, ok := strings.Cut(lines[0], " ")
	if !ok || method != r.Method {
		return nil, false
	}
	target, _, _ := strings.Cut(rest, " ")
	if target != r.RequestURI {
		return nil, false
	}
	hs := make([]integration.Header, 0, len(lines)-1)
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, false
		}
		hs = append(hs, integration.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return hs, true
}
