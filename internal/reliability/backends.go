package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// backendServer is an HTTP server on 127.0.0.1:0 whose handlers can be
// waited for: Close ends every request in progress, including hijacked
// connections, and returns once every handler has returned.
type backendServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	// handlers counts running handlers; served counts the Serve goroutine.
	handlers, served sync.WaitGroup

	mu     sync.Mutex
	hijack map[net.Conn]struct{}

	closeOnce sync.Once
}

func startBackend(mux *http.ServeMux) (*backendServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for a backend: %w", err)
	}
	b := &backendServer{ln: ln, done: make(chan struct{}), hijack: map[net.Conn]struct{}{}}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.handlers.Add(1)
			defer b.handlers.Done()
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	b.served.Add(1)
	go func() {
		defer b.served.Done()
		_ = b.srv.Serve(ln)
	}()
	return b, nil
}

// url returns the URL of path on the backend.
func (b *backendServer) url(path string) string { return "http://" + b.ln.Addr().String() + path }

// hijacked takes over a request's connection and tracks it until Close.
func (b *backendServer) hijacked(w http.ResponseWriter) (net.Conn, bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, false
	}
	nc, _, err := hj.Hijack()
	if err != nil {
		return nil, false
	}
	b.mu.Lock()
	b.hijack[nc] = struct{}{}
	b.mu.Unlock()
	return nc, true
}

// release closes a hijacked connection and stops tracking it.
func (b *backendServer) release(nc net.Conn) {
	b.mu.Lock()
	delete(b.hijack, nc)
	b.mu.Unlock()
	_ = nc.Close()
}

// Close stops the server and waits for every handler. Calls after the
// first do nothing.
func (b *backendServer) Close() {
	b.closeOnce.Do(func() {
		close(b.done)
		_ = b.srv.Close()
		b.mu.Lock()
		for nc := range b.hijack {
			_ = nc.Close()
		}
		b.mu.Unlock()
		b.handlers.Wait()
		b.served.Wait()
	})
}

// goodBackend is the well-behaved backend: an HTTP echo for HTTP_PROXY
// routes and a Lambda-style function for AWS_PROXY routes.
type goodBackend struct {
	*backendServer
	connects, disconnects atomic.Int64
}

func startGoodBackend() (*goodBackend, error) {
	g := &goodBackend{}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/lambda", func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			RequestContext struct {
				EventType    string `json:"eventType"`
				ConnectionID string `json:"connectionId"`
			} `json:"requestContext"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		result := map[string]any{"statusCode": 200}
		switch ev.RequestContext.EventType {
		case "CONNECT":
			g.connects.Add(1)
		case "DISCONNECT":
			g.disconnects.Add(1)
		case "MESSAGE":
			// The whoami route: the function answers with the connection's
			// id, which @connections pushes need.
			result["body"] = ev.RequestContext.ConnectionID
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(result)
	})
	b, err := startBackend(mux)
	if err != nil {
		return nil, err
	}
	g.backendServer = b
	return g, nil
}

// faultyBackend serves every misbehaving backend of the suite, one path
// each.
type faultyBackend struct {
	*backendServer
}

func startFaultyBackend() (*faultyBackend, error) {
	f := &faultyBackend{}
	mux := http.NewServeMux()
	// slow answers well after the route's timeout_ms.
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(slowDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"statusCode":200,"body":"late"}`)
	})
	// reset drops the TCP connection with a reset, without any reply.
	mux.HandleFunc("/reset", func(w http.ResponseWriter, _ *http.Request) {
		nc, ok := f.hijacked(w)
		if !ok {
			return
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		f.release(nc)
	})
	// garbage-json answers a Lambda result cut in the middle.
	mux.HandleFunc("/garbage-json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"statusCode": 200, "body": "unterminated`)
	})
	// garbage-content answers an HTML page where a Lambda result belongs.
	mux.HandleFunc("/garbage-content", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
	})
	// garbage-huge-body streams a 50 MB Lambda result, 64 KiB every 5 ms.
	mux.HandleFunc("/garbage-huge-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(hugeBodyBytes))
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		rc := http.NewResponseController(w)
		prefix := `{"statusCode":200,"body":"`
		if _, err := io.WriteString(w, prefix); err != nil {
			return
		}
		for sent := len(prefix); sent < hugeBodyBytes; sent += len(chunk) {
			if _, err := w.Write(chunk[:min(len(chunk), hugeBodyBytes-sent)]); err != nil {
				return
			}
			_ = rc.Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			case <-f.done:
				return
			}
		}
	})
	// garbage-huge-length declares a 50 GiB body, sends a few bytes of it and
	// then nothing, until the gateway gives up on it.
	mux.HandleFunc("/garbage-huge-length", func(w http.ResponseWriter, _ *http.Request) {
		nc, ok := f.hijacked(w)
		if !ok {
			return
		}
		defer f.release(nc)
		_, err := fmt.Fprintf(nc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"statusCode\":200,\"body\":\"", int64(hugeContentLength))
		if err != nil {
			return
		}
		// Wait for the gateway to drop the connection (bounded, in case it
		// never does: that would show as a stuck call, not a stuck suite).
		_ = nc.SetReadDeadline(time.Now().Add(2 * slowDelay))
		_, _ = io.Copy(io.Discard, nc)
	})
	b, err := startBackend(mux)
	if err != nil {
		return nil, err
	}
	f.backendServer = b
	return f, nil
}

// closedPortURL returns the URL of a port on 127.0.0.1 that nothing listens
// on: it was listened on and closed again.
func closedPortURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for a closed port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("close the closed port: %w", err)
	}
	return "http://" + addr + "/down", nil
}
