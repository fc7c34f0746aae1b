package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgwctl/wsgwctl/apply"
)

// TestForceUnlock holds the state lock in this process and runs
// force-unlock: a different ID is refused and leaves the lock, no
// confirmation without a terminal needs --force, the right ID removes it.
func TestForceUnlock(t *testing.T) {
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	store := apply.NewFileStore(statePath)
	l, err := store.Lock(context.Background(), "apply", 0)
	if err != nil {
		t.Fatalf("take the lock: %v", err)
	}
	t.Cleanup(func() { l.Unlock() })
	id := l.Info().ID

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErr    string
		wantLocked bool
	}{
		{"wrong id", []string{"force-unlock", "--force", "00000000-0000-4000-8000-000000000000"}, 1, "", "has ID " + id, true},
		{"no terminal without --force", []string{"force-unlock", id}, 1, "", "--force", true},
		{"right id", []string{"force-unlock", "--force", id}, 0, "successfully unlocked", "", false},
		{"no lock", []string{"force-unlock", "--force", id}, 1, "", "no lock is held", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--state", statePath}, tt.args...)
			code := run(args, strings.NewReader(""), &stdout, &stderr, []string{"NO_COLOR=1"})
			if code != tt.wantCode {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr.String())
			}
			info, err := store.LockInfo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := info != nil; got != tt.wantLocked {
				t.Errorf("locked = %v after the command, want %v", got, tt.wantLocked)
			}
		})
	}
}
