package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"
)

// upArgs are the flags of every up test: free ports and fast polling.
var upArgs = []string{"up", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--config-watch-interval", "50ms", "--watch-interval", "50ms"}

// appliedRE matches the line up prints after applying state serial n.
func appliedRE(n int) string {
	return fmt.Sprintf(`Applied \(state serial %d\)\.[^\n]*\n`, n)
}

// TestUp is CLI-10 end to end: up applies and serves; an edit is planned,
// applied and served; an invalid edit prints its diagnostics and the last
// good state keeps serving; fixing it applies again; cancelling stops with
// exit status 0.
func TestUp(t *testing.T) {
	backend := newPathEchoBackend(t)
	ignore := goleak.IgnoreCurrent()
	dir := t.TempDir()
	file := filepath.Join(dir, "main.wsgw.hcl")
	replaceFile(t, file, echoConfig(backend.URL+"/v1"))

	r := startCLI(t, append([]string{"-C", dir}, upArgs...)...)
	r.waitFor(t, r.stdout, appliedRE(1))
	addr := r.waitFor(t, r.stdout, serveAddrRE)[1]
	out := r.stdout.String()
	for _, want := range []string{
		"+ api.echo\n",
		`+ api.echo.route["$default"]` + "\n",
		`+ api.echo.stage["test"]` + "\n",
		"Plan: 5 to add, 0 to change, 0 to destroy.\n",
		"New deployment d-",
		"  ws://" + addr + "/echo/test  (deployment d-",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("CLI-10: stdout lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "Applied (state serial 1)"), strings.Index(out, "Serving on"); i > j {
		t.Errorf("CLI-10: up served before it applied:\n%s", out)
	}

	c := dialGW(t, "ws://"+addr+"/echo/test", nil)
	if got, want := c.roundTrip("one"), "/v1 one"; got != want {
		t.Fatalf("reply %q, want %q", got, want)
	}

	t.Run("CLI-10 an edit is applied and served", func(t *testing.T) {
		replaceFile(t, file, echoConfig(backend.URL+"/second"))
		r.waitFor(t, r.stdout, appliedRE(2))
		after := r.stdout.String()[strings.Index(r.stdout.String(), "Configuration changed"):]
		for _, want := range []string{`~ api.echo.integration["backend"]`, `~ api.echo.stage["test"]`, "Plan: 1 to add, 2 to change, 0 to destroy."} {
			if !strings.Contains(after, want) {
				t.Errorf("CLI-10: the plan printed after the edit lacks %q:\n%s", want, after)
			}
		}
		r.waitFor(t, r.stderr, fmt.Sprintf(loadedRE, 2))
		if got, want := c.roundTrip("two"), "/second two"; got != want {
			t.Errorf("RT-30: reply after the edit %q, want %q", got, want)
		}
	})

	t.Run("CLI-10 an invalid edit keeps the last good state", func(t *testing.T) {
		broken := strings.Replace(echoConfig(backend.URL+"/broken"), "integration = integration.backend", "integration = integration.backnd", 1)
		replaceFile(t, file, broken)
		r.waitFor(t, r.stderr, `The last good state keeps serving`)
		diags := r.stderr.String()
		for _, want := range []string{"integration.backnd", "main.wsgw.hcl", "backend"} {
			if !strings.Contains(diags, want) {
				t.Errorf("CLI-10: the diagnostics do not mention %q:\n%s", want, diags)
			}
		}
		if got, want := c.roundTrip("three"), "/second three"; got != want {
			t.Errorf("CLI-10: reply after an invalid edit %q, want %q (the last good state)", got, want)
		}
		if strings.Contains(r.stdout.String(), "Applied (state serial 3)") {
			t.Errorf("CLI-10: an invalid edit was applied:\n%s", r.stdout)
		}
	})

	t.Run("CLI-10 fixing the edit applies it", func(t *testing.T) {
		replaceFile(t, file, echoConfig(backend.URL+"/fixed"))
		r.waitFor(t, r.stdout, appliedRE(3))
		r.waitFor(t, r.stderr, fmt.Sprintf(loadedRE, 3))
		if got, want := c.roundTrip("four"), "/fixed four"; got != want {
			t.Errorf("reply after the fix %q, want %q", got, want)
		}
	})

	t.Run("CLI-10 a file that does not change the plan applies nothing", func(t *testing.T) {
		src := echoConfig(backend.URL+"/fixed") + "\n# a comment\n"
		replaceFile(t, file, src)
		r.waitFor(t, r.stdout, `Applied \(state serial 3\)\.[^\n]*\n\nConfiguration changed; planning again\.\nNo changes\.`)
		if got, want := c.roundTrip("five"), "/fixed five"; got != want {
			t.Errorf("reply %q, want %q", got, want)
		}
	})

	r.cancel()
	c.expectClose(ws.StatusGoingAway, goingAwayMsg)
	code := r.wait(t)
	_ = c.conn.Close()
	if code != 0 {
		t.Errorf("CLI-10: exit status %d after cancelling, want 0\nstderr:\n%s", code, r.stderr)
	}
	if out := r.stdout.String(); !strings.HasSuffix(out, stoppedText) {
		t.Errorf("CLI-10: stdout does not end with %q:\n%s", stoppedText, out)
	}
	goleak.VerifyNone(t, ignore)
}

// TestUpStartsWithInvalidConfig starts up on a configuration with an error:
// it prints the diagnostics, serves nothing yet, and applies the
// configuration once it is fixed.
func TestUpStartsWithInvalidConfig(t *testing.T) {
	backend := newPathEchoBackend(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "main.wsgw.hcl")
	replaceFile(t, file, "api \"echo\" {\n  route_selection_expression = \n}\n")

	r := startCLI(t, append([]string{"-C", dir}, upArgs...)...)
	addr := r.waitFor(t, r.stdout, serveAddrRE)[1]
	r.waitFor(t, r.stdout, `\(no stages applied yet\)`)
	if diags := r.stderr.String(); !strings.Contains(diags, "main.wsgw.hcl") {
		t.Errorf("CLI-10: stderr has no diagnostic naming the file:\n%s", diags)
	}

	replaceFile(t, file, echoConfig(backend.URL+"/late"))
	r.waitFor(t, r.stdout, appliedRE(1))
	r.waitFor(t, r.stderr, fmt.Sprintf(loadedRE, 1))
	c := dialGW(t, "ws://"+addr+"/echo/test", nil)
	if got, want := c.roundTrip("x"), "/late x"; got != want {
		t.Errorf("reply %q, want %q", got, want)
	}
	r.cancel()
	c.expectClose(ws.StatusGoingAway, goingAwayMsg)
	if code := r.wait(t); code != 0 {
		t.Errorf("CLI-10: exit status %d, want 0\nstderr:\n%s", code, r.stderr)
	}
}

// TestUpErrors checks up's own usage errors and that it shares serve's
// (exit status 1, naming the flag).
func TestUpErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero --config-watch-interval", []string{"-C", dir, "up", "--config-watch-interval", "0s"}, "--config-watch-interval"},
		{"serve's flags are checked", []string{"-C", dir, "up", "--log-format", "xml"}, "--log-format"},
		{"--tls-key without --tls-cert", []string{"-C", dir, "up", "--tls-key", "key.pem"}, "--tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 1 {
				t.Errorf("CLI-10: exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr)
			}
			if matched, _ := regexp.MatchString(`Applied|Serving on`, stdout); matched {
				t.Errorf("up applied or served although its flags are wrong:\n%s", stdout)
			}
		})
	}
}
