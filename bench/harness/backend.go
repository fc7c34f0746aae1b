package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Paths of the backend.
const (
	pathEcho       = "/echo"       // HTTP_PROXY and Pushpin's WebSocket-over-HTTP
	pathLambda     = "/lambda"     // AWS_PROXY: a Lambda-style echo function
	pathDisconnect = "/disconnect" // AWS_PROXY $disconnect of W9: records close codes
)

// websocketEvents is the content type of Pushpin's WebSocket-over-HTTP
// protocol.
const websocketEvents = "application/websocket-events"

// backend is the HTTP server behind W3 (for wsgwctl's HTTP_PROXY, for
// Pushpin and for the direct calls) and W4 (a local Lambda-style handler).
// Every answer is the message itself, so all contenders do the same work.
type backend struct {
	srv  *http.Server
	ln   net.Listener
	done chan error

	mu sync.Mutex
	// disconnects counts $disconnect events by disconnectStatusCode.
	disconnects map[int]int
}

// startBackend serves the backend on 127.0.0.1:0 with keep-alive.
func startBackend() (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the backend: %w", err)
	}
	b := &backend{ln: ln, done: make(chan error, 1), disconnects: map[int]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathEcho, b.echo)
	mux.HandleFunc("POST "+pathLambda, b.lambda)
	mux.HandleFunc("POST "+pathDisconnect, b.disconnect)
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go func() { b.done <- b.srv.Serve(ln) }()
	return b, nil
}

// url returns the backend's base URL.
func (b *backend) url() string { return "http://" + b.ln.Addr().String() }

// close stops the backend.
func (b *backend) close() {
	_ = b.srv.Close()
	<-b.done
}

// disconnectCodes returns the $disconnect close codes recorded since the
// last call, and forgets them.
func (b *backend) disconnectCodes() map[int]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	codes := b.disconnects
	b.disconnects = map[int]int{}
	return codes
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// echo answers a plain request with its body, and a WebSocket-over-HTTP
// request with a TEXT event for each of its TEXT events.
func (b *backend) echo(w http.ResponseWriter, r *http.Request) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		bufPool.Put(buf)
	}()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Header.Get("Content-Type") != websocketEvents {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		_, _ = w.Write(buf.Bytes())
		return
	}
	in, err := parseWebSocketEvents(buf.Bytes())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out []byte
	for _, ev := range in {
		switch ev.Type {
		case "OPEN":
			out = appendWebSocketEvent(out, "OPEN", nil)
		case "TEXT", "BINARY":
			out = appendWebSocketEvent(out, ev.Type, ev.Content)
		case "CLOSE":
			out = appendWebSocketEvent(out, "CLOSE", ev.Content)
		}
	}
	w.Header().Set("Content-Type", websocketEvents)
	_, _ = w.Write(out)
}

// lambdaEvent is the part of an AWS_PROXY event the backend reads.
type lambdaEvent struct {
	Body            string `json:"body"`
	IsBase64Encoded bool   `json:"isBase64Encoded"`
}

// lambdaResult is a Lambda proxy result.
type lambdaResult struct {
	StatusCode      int    `json:"statusCode"`
	Body            string `json:"body"`
	IsBase64Encoded bool   `json:"isBase64Encoded,omitempty"`
}

// lambda is a Lambda-style function behind AWS_PROXY: it returns the
// message's body as the route response.
func (b *backend) lambda(w http.ResponseWriter, r *http.Request) {
	var ev lambdaEvent
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(lambdaResult{StatusCode: http.StatusOK, Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded})
}

// disconnect records the close code of a $disconnect event.
func (b *backend) disconnect(w http.ResponseWriter, r *http.Request) {
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.disconnects[int(ev.RequestContext.DisconnectStatusCode)]++
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"statusCode":200}`)
}

// webSocketEvent is one event of Pushpin's WebSocket-over-HTTP protocol.
type webSocketEvent struct {
	Type    string
	Content []byte // nil for an event without content
}

// parseWebSocketEvents parses a WebSocket-over-HTTP body: events written
// "TYPE\r\n" or "TYPE HEXLEN\r\nCONTENT\r\n".
func parseWebSocketEvents(body []byte) ([]webSocketEvent, error) {
	var evs []webSocketEvent
	for len(body) > 0 {
		line, rest, ok := bytes.Cut(body, []byte("\r\n"))
		if !ok {
			return nil, errors.New("parse websocket events: an event line does not end with CRLF")
		}
		typ, hexLen, hasContent := bytes.Cut(line, []byte(" "))
		ev := webSocketEvent{Type: string(typ)}
		if hasContent {
			n, err := strconv.ParseUint(string(hexLen), 16, 31)
			if err != nil {
				return nil, fmt.Errorf("parse websocket events: content length %q: %w", hexLen, err)
			}
			if uint64(len(rest)) < n+2 || string(rest[n:n+2]) != "\r\n" {
				return nil, fmt.Errorf("parse websocket events: %s event shorter than its length %d", typ, n)
			}
			ev.Content, rest = rest[:n:n], rest[n+2:]
		}
		evs = append(evs, ev)
		body = rest
	}
	return evs, nil
}

// appendWebSocketEvent appends one WebSocket-over-HTTP event to dst.
func appendWebSocketEvent(dst []byte, typ string, content []byte) []byte {
	dst = append(dst, typ...)
	if content != nil {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(len(content)), 16)
		dst = append(dst, "\r\n"...)
		dst = append(dst, content...)
	}
	return append(dst, "\r\n"...)
}
