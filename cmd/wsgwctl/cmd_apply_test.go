package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgwctl/wsgwctl/apply"
)

func init() {
	// Transcripts answer prompts through stdin, which is never a terminal
	// there; WSGW_TEST_ASSUME_TTY=1 in a script makes it count as one.
	assumeTTYEnv = "WSGW_TEST_ASSUME_TTY"
}

const lockTestConfig = `api "chat" {
  route_selection_expression = "$request.body.action"

  integration "backend" {
    type = "HTTP_PROXY"
    uri  = "http://127.0.0.1:9000/messages"
  }

  route "$default" {
    integration = integration.backend
  }

  stage "prod" {}
}
`

// TestApplyLockContention holds the state lock in this process and runs
// apply against it: without --lock-timeout it fails at once naming the
// holder; with one it applies once the holder lets go.
func TestApplyLockContention(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.wsgw.hcl"), []byte(lockTestConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, ".wsgw", "state.json")
	holder := apply.NewFileStore(statePath)
	l, err := holder.Lock(context.Background(), "test-holder", 0)
	if err != nil {
		t.Fatalf("take the lock: %v", err)
	}
	t.Cleanup(func() { l.Unlock() })

	runApply := func(extra ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-C", dir, "apply", "--auto-approve"}, extra...)
		code := run(args, strings.NewReader(""), &stdout, &stderr, []string{"NO_COLOR=1"})
		return code, stdout.String(), stderr.String()
	}

	t.Run("held", func(t *testing.T) {
		code, _, stderr := runApply()
		if code != 1 {
			t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr)
		}
		for _, want := range []string{"Error acquiring the state lock", l.Info().ID, "test-holder", "--lock-timeout"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not mention %q:\n%s", want, stderr)
			}
		}
		if _, err := os.Stat(statePath); !os.IsNotExist(err) {
			t.Errorf("state written while the lock was held (stat: %v)", err)
		}
	})

	t.Run("waits for release", func(t *testing.T) {
		type result struct {
			code           int
			stdout, stderr string
		}
		started := make(chan struct{})
		done := make(chan result)
		go func() {
			close(started)
			code, stdout, stderr := runApply("--lock-timeout", "1m")
			done <- result{code, stdout, stderr}
		}()
		<-started
		if err := l.Unlock(); err != nil {
			t.Fatalf("release the lock: %v", err)
		}
		r := <-done
		if r.code != 0 {
			t.Fatalf("exit status %d, want 0; stderr:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "Apply complete! Resources: 5 added, 0 changed, 0 destroyed.") {
			t.Errorf("stdout lacks the summary:\n%s", r.stdout)
		}
		if _, err := os.Stat(statePath); err != nil {
			t.Errorf("no state written: %v", err)
		}
	})
}
