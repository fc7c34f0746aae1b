package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"go.uber.org/goleak"
)

// gwTimeout bounds every wait of the serve and up tests; reaching it is a
// failure, never part of the expected sequence.
const gwTimeout = 10 * time.Second

// syncBuffer is an io.Writer that is safe for concurrent use and that a
// test can wait on until something is written.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newSyncBuffer() *syncBuffer {
	return &syncBuffer{changed: make(chan struct{})}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return n, err
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// snapshot returns what was written so far and a channel closed by the next
// write.
func (b *syncBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.changed
}

// cliRun is a command line running in this process.
type cliRun struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc // what SIGINT does to Main
	exited         chan struct{}      // closed when the command returns
	code           int                // its exit status, once exited is closed
}

// startCLI runs the command line args (NO_COLOR set, empty stdin) in a
// goroutine with a context the test can cancel. At cleanup the context is
// cancelled and the command must end within gwTimeout.
func startCLI(t *testing.T, args ...string) *cliRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &cliRun{stdout: newSyncBuffer(), stderr: newSyncBuffer(), cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(r.exited)
		r.code = runContext(ctx, args, strings.NewReader(""), r.stdout, r.stderr, []string{"NO_COLOR=1"})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.exited:
		case <-time.After(gwTimeout):
			t.Errorf("wsgwctl %s did not stop within %s of its context ending", strings.Join(args, " "), gwTimeout)
		}
	})
	return r
}

// wait waits for the command to end by itself and returns its exit status.
func (r *cliRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.exited:
		return r.code
	case <-time.After(gwTimeout):
		t.Fatalf("the command did not end within %s\nstdout:\n%s\nstderr:\n%s", gwTimeout, r.stdout, r.stderr)
		return 0
	}
}

// waitFor waits until out, one of r's streams, matches re and returns the
// submatches of the first match. It fails when the command ends or
// gwTimeout passes first.
func (r *cliRun) waitFor(t *testing.T, out *syncBuffer, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(gwTimeout)
	defer deadline.Stop()
	exited := r.exited
	for {
		text, changed := out.snapshot()
		if m := rx.FindStringSubmatch(text); m != nil {
			return m
		}
		select {
		case <-changed:
		case <-exited:
			// Everything the command wrote is in out now; look once more.
			exited = nil
			if m := rx.FindStringSubmatch(out.String()); m != nil {
				return m
			}
			t.Fatalf("the command exited with status %d before writing a match of %q\nstdout:\n%s\nstderr:\n%s", r.code, re, r.stdout, r.stderr)
		case <-deadline.C:
			t.Fatalf("nothing matched %q within %s\nstdout:\n%s\nstderr:\n%s", re, gwTimeout, r.stdout, r.stderr)
		}
	}
}

// runCLI runs a command line that is expected to end by itself and returns
// its exit status and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := startCLI(t, args...)
	code = r.wait(t)
	return code, r.stdout.String(), r.stderr.String()
}

// newPathEchoBackend starts an HTTP backend that answers every request
// with its path, a space and its body, so that a reply shows which
// integration uri the gateway called.
func newPathEchoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s", r.URL.Path, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// echoConfig is a configuration whose API "echo" has one two-way $default
// route, proxied to uri, served on stage "test".
func echoConfig(uri string) string {
	return fmt.Sprintf(`api "echo" {
  route_selection_expression = "$request.body.action"

  integration "backend" {
    type = "HTTP_PROXY"
    uri  = %q
  }

  route "$default" {
    integration = integration.backend

    route_response "$default" {}
  }

  stage "test" {}
}
`, uri)
}

// replaceFile replaces path with data in one rename, so that a
// watcher never reads a half-written file.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp, err := os.CreateTemp(t.TempDir(), "edit-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// applyConfig writes the configuration src into dir and applies it.
func applyConfig(t *testing.T, dir, src string) {
	t.Helper()
	replaceFile(t, filepath.Join(dir, "main.wsgw.hcl"), src)
	code, stdout, stderr := runCLI(t, "-C", dir, "apply", "--auto-approve")
	if code != 0 {
		t.Fatalf("apply: exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// gwClient is a WebSocket client of the gateway.
type gwClient struct {
	t    *testing.T
	conn net.Conn
	rw   io.ReadWriter
}

// dialGW connects to url; tlsConfig is used for wss:// URLs.
func dialGW(t *testing.T, url string, tlsConfig *tls.Config) *gwClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), gwTimeout)
	defer cancel()
	d := ws.Dialer{Timeout: gwTimeout, TLSConfig: tlsConfig}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &gwClient{t: t, conn: conn}
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	c.rw = struct {
		io.Reader
		io.Writer
	}{r, conn}
	return c
}

// roundTrip sends text and returns the next message received.
func (c *gwClient) roundTrip(text string) string {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(gwTimeout))
	if err := wsutil.WriteClientText(c.conn, []byte(text)); err != nil {
		c.t.Fatalf("send %q: %v", text, err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(gwTimeout))
	data, err := wsutil.ReadServerText(c.rw)
	if err != nil {
		c.t.Fatalf("waiting for the reply to %q: %v", text, err)
	}
	return string(data)
}

// expectClose reads until the gateway's close frame and checks its code and
// reason.
func (c *gwClient) expectClose(code ws.StatusCode, reason string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(gwTimeout))
	data, _, err := wsutil.ReadServerData(c.rw)
	var closed wsutil.ClosedError
	if !errors.As(err, &closed) {
		c.t.Fatalf("want a close frame %d %q, got message %q, error %v", code, reason, data, err)
	}
	if closed.Code != code || closed.Reason != reason {
		c.t.Fatalf("close frame %d %q, want %d %q", closed.Code, closed.Reason, code, reason)
	}
}

// httpGet returns the status and body of a GET of url.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: gwTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// Output the serve tests wait for.
const (
	serveAddrRE  = `Serving on ws://(\S+)\n`
	adminAddrRE  = `Admin on http://(\S+) `
	stoppedText  = "Gateway stopped.\n"
	loadedRE     = `msg="state loaded" serial=%d `
	notLoadedRE  = `msg="new state not loaded; the previous one keeps serving"`
	goingAwayMsg = "Going away"
)

// TestServe is CLI-9 end to end: serve prints where it serves, a client
// gets its integration's answer, a later apply is served without a restart
// (RT-30), a state that cannot be read leaves the previous one serving, and
// cancelling stops the gateway gracefully (RT-31) with exit status 0 and no
// goroutine left behind.
func TestServe(t *testing.T) {
	backend := newPathEchoBackend(t)
	ignore := goleak.IgnoreCurrent()
	dir := t.TempDir()
	applyConfig(t, dir, echoConfig(backend.URL+"/v1"))

	r := startCLI(t, "-C", dir, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--watch-interval", "50ms")
	addr := r.waitFor(t, r.stdout, serveAddrRE)[1]
	admin := r.waitFor(t, r.stdout, adminAddrRE)[1]
	r.waitFor(t, r.stdout, regexp.QuoteMeta("  ws://"+addr+"/echo/test  (deployment d-")+`[0-9a-f]{10}; @connections at `+regexp.QuoteMeta("http://"+addr+"/echo/test)\n"))

	if code, body := httpGet(t, "http://"+admin+"/readyz"); code != http.StatusOK {
		t.Errorf("D-32: GET /readyz = %d %q, want 200", code, body)
	}
	c := dialGW(t, "ws://"+addr+"/echo/test", nil)
	if got, want := c.roundTrip("hello"), "/v1 hello"; got != want {
		t.Fatalf("RT-24: reply %q, want %q", got, want)
	}

	t.Run("RT-30 a later apply is served", func(t *testing.T) {
		applyConfig(t, dir, echoConfig(backend.URL+"/v2"))
		r.waitFor(t, r.stderr, fmt.Sprintf(loadedRE, 2))
		if got, want := c.roundTrip("again"), "/v2 again"; got != want {
			t.Errorf("RT-30: the open connection's reply after apply is %q, want %q", got, want)
		}
		fresh := dialGW(t, "ws://"+addr+"/echo/test", nil)
		if got, want := fresh.roundTrip("new"), "/v2 new"; got != want {
			t.Errorf("RT-30: a new connection's reply after apply is %q, want %q", got, want)
		}
		_ = fresh.conn.Close()
	})

	t.Run("RT-30 an unreadable state keeps the previous one serving", func(t *testing.T) {
		replaceFile(t, filepath.Join(dir, ".wsgw", "state.json"), "{ not json")
		r.waitFor(t, r.stderr, notLoadedRE)
		if got, want := c.roundTrip("still"), "/v2 still"; got != want {
			t.Errorf("RT-30: reply after a broken state file %q, want %q", got, want)
		}
	})

	// The client answers the gateway's close frame, as a browser would, so
	// the shutdown does not wait out the close timeout.
	r.cancel()
	c.expectClose(ws.StatusGoingAway, goingAwayMsg)
	code := r.wait(t)
	_ = c.conn.Close()
	if code != 0 {
		t.Errorf("CLI-9: exit status %d after cancelling, want 0\nstderr:\n%s", code, r.stderr)
	}
	if out := r.stdout.String(); !strings.HasSuffix(out, stoppedText) {
		t.Errorf("RT-31: stdout does not end with %q:\n%s", stoppedText, out)
	}
	goleak.VerifyNone(t, ignore)
}

// TestServeBeforeFirstApply starts serve with no state: it says no stage is
// applied yet, is not ready, and serves the first apply when it comes.
func TestServeBeforeFirstApply(t *testing.T) {
	backend := newPathEchoBackend(t)
	dir := t.TempDir()
	r := startCLI(t, "-C", dir, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--watch-interval", "50ms")
	addr := r.waitFor(t, r.stdout, serveAddrRE)[1]
	admin := r.waitFor(t, r.stdout, adminAddrRE)[1]
	r.waitFor(t, r.stdout, `\(no stages applied yet\)`)
	if code, _ := httpGet(t, "http://"+admin+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("D-32: GET /readyz before any state = %d, want 503", code)
	}

	applyConfig(t, dir, echoConfig(backend.URL+"/first"))
	r.waitFor(t, r.stderr, fmt.Sprintf(loadedRE, 1))
	c := dialGW(t, "ws://"+addr+"/echo/test", nil)
	if got, want := c.roundTrip("hi"), "/first hi"; got != want {
		t.Errorf("RT-30: reply %q, want %q", got, want)
	}
	if code, _ := httpGet(t, "http://"+admin+"/readyz"); code != http.StatusOK {
		t.Errorf("D-32: GET /readyz after the first apply = %d, want 200", code)
	}
	r.cancel()
	c.expectClose(ws.StatusGoingAway, goingAwayMsg)
	if code := r.wait(t); code != 0 {
		t.Errorf("CLI-9: exit status %d, want 0\nstderr:\n%s", code, r.stderr)
	}
}

// TestServeTLS serves wss:// with a certificate made by the test and
// connects with a client that trusts it (CLI-9, RT-1).
func TestServeTLS(t *testing.T) {
	backend := newPathEchoBackend(t)
	dir := t.TempDir()
	applyConfig(t, dir, echoConfig(backend.URL+"/tls"))
	certFile, keyFile, pool := writeSelfSignedCert(t, dir)

	r := startCLI(t, "-C", dir, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--tls-cert", certFile, "--tls-key", keyFile)
	addr := r.waitFor(t, r.stdout, `Serving on wss://(\S+)\n`)[1]
	r.waitFor(t, r.stdout, regexp.QuoteMeta("  wss://"+addr+"/echo/test  (deployment d-")+`[0-9a-f]{10}; @connections at `+regexp.QuoteMeta("https://"+addr+"/echo/test)\n"))
	if strings.Contains(r.stdout.String(), "Admin on") {
		t.Errorf("--admin-listen off still announced an admin listener:\n%s", r.stdout)
	}

	c := dialGW(t, "wss://"+addr+"/echo/test", &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if got, want := c.roundTrip("secure"), "/tls secure"; got != want {
		t.Errorf("reply over wss %q, want %q", got, want)
	}
	r.cancel()
	c.expectClose(ws.StatusGoingAway, goingAwayMsg)
	if code := r.wait(t); code != 0 {
		t.Errorf("CLI-9: exit status %d, want 0\nstderr:\n%s", code, r.stderr)
	}
}

// writeSelfSignedCert writes a self-signed certificate for 127.0.0.1 and
// its key into dir as PEM, and returns their paths and a pool trusting it.
func writeSelfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsgwctl test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeErrors checks that serve refuses to start, with exit status 1
// and an error naming the flag or file at fault (CLI-9, D-10, FS-5).
func TestServeErrors(t *testing.T) {
	dir := t.TempDir()
	// A listener that holds a port, for --listen and --admin-listen.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	corrupt := t.TempDir()
	if err := os.MkdirAll(filepath.Join(corrupt, ".wsgw"), 0o700); err != nil {
		t.Fatal(err)
	}
	corruptState := filepath.Join(corrupt, ".wsgw", "state.json")
	if err := os.WriteFile(corruptState, []byte("{ this is not a state"), 0o600); err != nil {
		t.Fatal(err)
	}
	free := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}

	tests := []struct {
		name string
		args []string
		want []string // each must appear on stderr
	}{
		{"D-36 malformed --idle-timeout", []string{"-C", dir, "serve", "--idle-timeout", "ten minutes"}, []string{"--idle-timeout", "ten minutes"}},
		{"zero --idle-timeout", []string{"-C", dir, "serve", "--idle-timeout", "0s"}, []string{"--idle-timeout", "positive duration"}},
		{"negative --max-connection-duration", []string{"-C", dir, "serve", "--max-connection-duration", "-1m"}, []string{"--max-connection-duration"}},
		{"--tls-cert without --tls-key", []string{"-C", dir, "serve", "--tls-cert", "cert.pem"}, []string{"--tls-cert", "--tls-key"}},
		{"--tls-key without --tls-cert", []string{"-C", dir, "serve", "--tls-key", "key.pem"}, []string{"--tls-cert", "--tls-key"}},
		{"--log-format xml", []string{"-C", dir, "serve", "--log-format", "xml"}, []string{"--log-format", `"xml"`}},
		{"--log-level loud", []string{"-C", dir, "serve", "--log-level", "loud"}, []string{"--log-level", `"loud"`}},
		{"unexpected argument", []string{"-C", dir, "serve", "now"}, []string{`"now"`}},
		{"FS-5 corrupt state file", append([]string{"-C", corrupt, "serve"}, free...), []string{corruptState}},
		{"--listen on a port in use", []string{"-C", dir, "serve", "--listen", busy.Addr().String(), "--admin-listen", "127.0.0.1:0"}, []string{"--listen " + busy.Addr().String(), "address already in use"}},
		{"--admin-listen on a port in use", []string{"-C", dir, "serve", "--listen", "127.0.0.1:0", "--admin-listen", busy.Addr().String()}, []string{"--admin-listen " + busy.Addr().String()}},
		{"missing TLS files", append([]string{"-C", dir, "serve", "--tls-cert", "nowhere/cert.pem", "--tls-key", "nowhere/key.pem"}, free...), []string{"--tls-cert nowhere/cert.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 1 {
				t.Errorf("CLI-9: exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not name %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stdout, "Serving on") {
				t.Errorf("serve announced a listener although it failed:\n%s", stdout)
			}
		})
	}
}

// TestSyncBufferWaitFor guards the helpers above: waitFor sees output that
// another goroutine writes in pieces.
func TestSyncBufferWaitFor(t *testing.T) {
	r := &cliRun{stdout: newSyncBuffer(), stderr: newSyncBuffer(), exited: make(chan struct{})}
	go func() {
		w := bufio.NewWriterSize(r.stdout, 1)
		_, _ = w.WriteString("Serving on ws://127.0.0.1:1234\n")
		_ = w.Flush()
	}()
	if got := r.waitFor(t, r.stdout, serveAddrRE)[1]; got != "127.0.0.1:1234" {
		t.Errorf("waitFor matched %q", got)
	}
}

// disconnectConfig is echoConfig with a $disconnect route proxied to
// base/disconnect.
func disconnectConfig(base string) string {
	return fmt.Sprintf(`api "echo" {
  route_selection_expression = "$request.body.action"

  integration "backend" {
    type = "HTTP_PROXY"
    uri  = "%[1]s/message"
  }

  integration "bye" {
    type = "HTTP_PROXY"
    uri  = "%[1]s/disconnect"
  }

  route "$default" {
    integration = integration.backend

    route_response "$default" {}
  }

  route "$disconnect" {
    integration = integration.bye
  }

  stage "test" {}
}
`, base)
}

// TestServeShutdownRunsDisconnect cancels serve with a client connected:
// the client's $disconnect runs before serve exits (RT-31, D-46); when it
// outlasts --shutdown-grace, serve warns, abandons it and still exits 0.
func TestServeShutdownRunsDisconnect(t *testing.T) {
	tests := []struct {
		name string
		// hang makes the $disconnect call wait until it is abandoned.
		hang    bool
		warning bool
	}{
		{name: "within the grace period"},
		{name: "beyond the grace period", hang: true, warning: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			disconnects := make(chan struct{}, 1)
			release := make(chan struct{})
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.URL.Path != "/disconnect" {
					_, _ = fmt.Fprintf(w, "%s %s", r.URL.Path, body)
					return
				}
				disconnects <- struct{}{}
				if tt.hang {
					select {
					case <-r.Context().Done():
					case <-release:
					}
				}
			}))
			t.Cleanup(backend.Close)
			t.Cleanup(func() { close(release) })
			dir := t.TempDir()
			applyConfig(t, dir, disconnectConfig(backend.URL))

			r := startCLI(t, "-C", dir, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--shutdown-grace", "300ms")
			addr := r.waitFor(t, r.stdout, serveAddrRE)[1]
			c := dialGW(t, "ws://"+addr+"/echo/test", nil)
			if got, want := c.roundTrip("hi"), "/message hi"; got != want {
				t.Fatalf("reply %q, want %q", got, want)
			}
			r.cancel()
			c.expectClose(ws.StatusGoingAway, goingAwayMsg)
			code := r.wait(t)
			if code != 0 {
				t.Errorf("RT-31: exit status %d, want 0\nstderr:\n%s", code, r.stderr)
			}
			select {
			case <-disconnects:
			default:
				t.Errorf("RT-31: serve exited before calling $disconnect\nstderr:\n%s", r.stderr)
			}
			warned := strings.Contains(r.stderr.String(), "Warning: shutdown grace period of 300ms ended")
			if warned != tt.warning {
				t.Errorf("RT-31: grace period warning printed = %v, want %v\nstderr:\n%s", warned, tt.warning, r.stderr)
			}
			if out := r.stdout.String(); !strings.HasSuffix(out, stoppedText) {
				t.Errorf("RT-31: stdout does not end with %q:\n%s", stoppedText, out)
			}
		})
	}
}
