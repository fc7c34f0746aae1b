package apply

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsgwctl/wsgwctl/state"
)

// Environment of child processes re-executed from the test binary.
const (
	childEnv     = "WSGW_APPLY_TEST_CHILD" // what the child does
	childPathEnv = "WSGW_APPLY_TEST_PATH"  // the state file it works on
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "hold-lock":
		os.Exit(childHoldLock(os.Getenv(childPathEnv)))
	case "apply":
		os.Exit(childApply(os.Getenv(childPathEnv)))
	default:
		os.Exit(3)
	}
}

// childHoldLock takes the lock, prints its info as one JSON line and waits
// until stdin closes (or it is killed).
func childHoldLock(path string) int {
	l, err := NewFileStore(path).Lock(context.Background(), "apply", 0)
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	info, _ := json.Marshal(l.Info())
	os.Stdout.Write(append(info, '\n'))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// startChild re-executes the test binary as a child doing what.
func startChild(t *testing.T, what, path string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+what, childPathEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewReader(stdout)
}

func statePath(t *testing.T) string {
	return filepath.Join(t.TempDir(), ".wsgw", "state.json")
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func readState(t *testing.T, path string) *state.State {
	t.Helper()
	st, err := state.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestFileStoreWrite(t *testing.T) {
	ctx := context.Background()
	path := statePath(t)
	s := NewFileStore(path)

	got, err := s.Read(ctx)
	if got != nil || err != nil {
		t.Fatalf("Read before any write = %v, %v", got, err)
	}
	first := fixture(1, 1, 3, 1)
	if err := s.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, filepath.Dir(path)); m != 0o700 {
		t.Errorf("directory mode %v, want 0700", m)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("state mode %v, want 0600", m)
	}
	if _, err := os.Stat(s.BackupPath()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("first write made a backup (stat: %v)", err)
	}
	if diff := cmp.Diff(first, readState(t, path)); diff != "" {
		t.Errorf("state after first write (-want +got):\n%s", diff)
	}

	second := fixture(2, 1, 3, 1, 2)
	third := fixture(3, 1, 3, 1, 2, 3)
	for _, step := range []struct {
		write, backup *state.State
	}{{second, first}, {third, second}} {
		if err := s.Write(ctx, step.write); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(step.write, readState(t, path)); diff != "" {
			t.Errorf("state (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(step.backup, readState(t, s.BackupPath())); diff != "" {
			t.Errorf("backup (-want +got):\n%s", diff)
		}
		if m := mode(t, s.BackupPath()); m != 0o600 {
			t.Errorf("backup mode %v, want 0600", m)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"state.json", "state.json.backup"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v", names, want)
	}
}

func TestFileStoreWriteRefuses(t *testing.T) {
	ctx := context.Background()
	valid := fixture(1, 1, 2, 1)
	invalid := valid.Clone()
	invalid.Lineage = ""
	tests := []struct {
		name    string
		current string // "" for no file
		write   *state.State
		want    any // pointer to the error type wanted
	}{
		{name: "corrupt current", current: `{"version": 1, "lineage": "x", "ser`, write: valid, want: new(*state.CorruptError)},
		{name: "newer current", current: `{"version": 2}`, write: valid, want: new(*state.VersionError)},
		{name: "invalid state", write: invalid},
		{name: "nil state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := statePath(t)
			if tt.current != "" {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.current), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := NewFileStore(path).Write(ctx, tt.write)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if tt.want != nil && !errors.As(err, tt.want) {
				t.Errorf("error %v does not wrap %T", err, tt.want)
			}
			data, rerr := os.ReadFile(path)
			switch {
			case tt.current == "" && !errors.Is(rerr, fs.ErrNotExist):
				t.Errorf("a state file was written (read: %v)", rerr)
			case tt.current != "" && string(data) != tt.current:
				t.Errorf("the current file was changed to %q", data)
			}
			if _, err := os.Stat(path + ".backup"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a backup was written (stat: %v)", err)
			}
		})
	}
}

// TestFileStoreLeftovers checks that temporary files left by a writer that
// died (a torn new state, a torn backup copy) neither break the next Write
// nor become the state or the backup.
func TestFileStoreLeftovers(t *testing.T) {
	ctx := context.Background()
	path := statePath(t)
	s := NewFileStore(path)
	old := fixture(1, 1, 2, 1)
	if err := s.Write(ctx, old); err != nil {
		t.Fatal(err)
	}
	leftovers := []string{path + ".tmp-1234567", path + ".backup.tmp-abcdefghij"}
	for _, name := range leftovers {
		if err := os.WriteFile(name, []byte(`{"version": 1, "lin`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	next := fixture(2, 1, 2, 1, 2)
	if err := s.Write(ctx, next); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(next, readState(t, path)); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(old, readState(t, s.BackupPath())); diff != "" {
		t.Errorf("backup (-want +got):\n%s", diff)
	}
	for _, name := range leftovers {
		if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("leftover %s was not removed (stat: %v)", name, err)
		}
	}
}

func readLockFile(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("lock file %q: %v", data, err)
	}
	return m
}

func TestLockContention(t *testing.T) {
	ctx := context.Background()
	path := statePath(t)
	a, b := NewFileStore(path), NewFileStore(path)
	a.Version = "1.2.3"

	la, err := a.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	info := la.Info()
	if info.Operation != "apply" || info.Version != "1.2.3" || info.Path != path || !strings.Contains(info.Who, "@") {
		t.Errorf("lock info %+v", info)
	}
	if info.Created.Location() != time.UTC || time.Since(info.Created) > time.Minute {
		t.Errorf("Created = %v, want a recent UTC time", info.Created)
	}

	onDisk := readLockFile(t, a.LockPath())
	var keys []string
	for k := range onDisk {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"Created", "ID", "Operation", "Path", "Version", "Who"}; !slices.Equal(keys, want) {
		t.Errorf("lock file keys %v, want %v", keys, want)
	}
	if _, err := time.Parse(time.RFC3339, onDisk["Created"].(string)); err != nil || !strings.HasSuffix(onDisk["Created"].(string), "Z") {
		t.Errorf("Created %q is not RFC 3339 UTC", onDisk["Created"])
	}
	if m := mode(t, a.LockPath()); m != 0o600 {
		t.Errorf("lock file mode %v, want 0600", m)
	}

	_, err = b.Lock(ctx, "apply", 0)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock: %v (%T), want *LockedError", err, err)
	}
	if diff := cmp.Diff(info, le.Info); diff != "" {
		t.Errorf("LockedError.Info (-holder +reported):\n%s", diff)
	}
	msg := err.Error()
	for _, want := range []string{"Error acquiring the state lock", "ID:        " + info.ID, "Who:       " + info.Who, "Operation: apply", "--lock-timeout", "wsgwctl force-unlock " + info.ID} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	got, err := b.LockInfo(ctx)
	if err != nil || got == nil {
		t.Fatalf("LockInfo = %v, %v", got, err)
	}
	if diff := cmp.Diff(info, *got); diff != "" {
		t.Errorf("LockInfo (-holder +got):\n%s", diff)
	}

	if err := la.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := la.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	if _, err := os.Stat(a.LockPath()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Unlock left the lock file (stat: %v)", err)
	}
	if got, err := b.LockInfo(ctx); got != nil || err != nil {
		t.Errorf("LockInfo after Unlock = %v, %v", got, err)
	}
	lb, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	if lb.Info().ID == info.ID {
		t.Error("a new lock reused the old ID")
	}
	if err := lb.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockWaits(t *testing.T) {
	ctx := context.Background()
	path := statePath(t)
	a, b := NewFileStore(path), NewFileStore(path)
	la, err := a.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	contended := make(chan struct{})
	var once sync.Once
	b.onContended = func() { once.Do(func() { close(contended) }) }
	type result struct {
		l   Lock
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := b.Lock(ctx, "apply", time.Minute)
		done <- result{l, err}
	}()
	<-contended // b found the lock held and is waiting
	if err := la.Unlock(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("waiting Lock: %v", r.err)
	}
	if err := r.l.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockGivesUp(t *testing.T) {
	path := statePath(t)
	a := NewFileStore(path)
	la, err := a.Lock(context.Background(), "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer la.Unlock()

	t.Run("timeout", func(t *testing.T) {
		_, err := NewFileStore(path).Lock(context.Background(), "apply", 30*time.Millisecond)
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatalf("Lock: %v, want *LockedError", err)
		}
		if le.Waited != 30*time.Millisecond || le.Info.ID != la.Info().ID {
			t.Errorf("LockedError %+v", le)
		}
		if !strings.Contains(err.Error(), "gave up after waiting 30ms") {
			t.Errorf("message does not say how long it waited: %s", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b := NewFileStore(path)
		b.onContended = cancel
		_, err := b.Lock(ctx, "apply", time.Minute)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock: %v, want context.Canceled", err)
		}
	})
}

func TestForceUnlock(t *testing.T) {
	ctx := context.Background()

	t.Run("no lock file", func(t *testing.T) {
		path := statePath(t)
		err := NewFileStore(path).ForceUnlock(ctx, "x")
		if !errors.Is(err, ErrNoLock) || !strings.Contains(err.Error(), "no lock is held on "+path) {
			t.Fatalf("ForceUnlock: %v", err)
		}
	})
	t.Run("stale info of a dead holder", func(t *testing.T) {
		path := statePath(t)
		s := NewFileStore(path)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.LockPath(), []byte(`{"ID":"dead"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LockInfo(ctx); got != nil || err != nil {
			t.Errorf("LockInfo of stale info = %v, %v; want nil", got, err)
		}
		if err := s.ForceUnlock(ctx, "dead"); !errors.Is(err, ErrNoLock) {
			t.Fatalf("ForceUnlock: %v, want ErrNoLock", err)
		}
		if _, err := os.Stat(s.LockPath()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale lock file was not removed (stat: %v)", err)
		}
	})
	t.Run("held", func(t *testing.T) {
		path := statePath(t)
		a, b, c := NewFileStore(path), NewFileStore(path), NewFileStore(path)
		if err := a.Write(ctx, fixture(1, 1, 1, 1)); err != nil {
			t.Fatal(err)
		}
		la, err := a.Lock(ctx, "apply", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer la.Unlock()
		id := la.Info().ID

		err = b.ForceUnlock(ctx, "not-"+id)
		if !errors.Is(err, ErrLockIDMismatch) || !strings.Contains(err.Error(), id) {
			t.Fatalf("ForceUnlock with a wrong ID: %v", err)
		}
		if _, err := c.Lock(ctx, "apply", 0); !errors.As(err, new(*LockedError)) {
			t.Fatalf("lock was released by a mismatched force-unlock: %v", err)
		}

		if err := b.ForceUnlock(ctx, id); err != nil {
			t.Fatalf("ForceUnlock with the right ID: %v", err)
		}
		lc, err := c.Lock(ctx, "apply", 0)
		if err != nil {
			t.Fatalf("Lock after force-unlock: %v", err)
		}
		defer lc.Unlock()

		// The broken holder can neither write nor remove the new lock.
		err = a.Write(ctx, fixture(2, 1, 1, 1, 2))
		if !errors.Is(err, ErrLockLost) {
			t.Errorf("Write by the force-unlocked holder: %v, want ErrLockLost", err)
		}
		if diff := cmp.Diff(fixture(1, 1, 1, 1), readState(t, path)); diff != "" {
			t.Errorf("state changed (-want +got):\n%s", diff)
		}
		if err := la.Unlock(); err != nil {
			t.Fatal(err)
		}
		got, err := b.LockInfo(ctx)
		if err != nil || got == nil || got.ID != lc.Info().ID {
			t.Fatalf("LockInfo after the old holder's Unlock = %v, %v; want the new holder", got, err)
		}
	})
}

// TestLockReleasedWhenHolderDies runs a child process that takes the lock and
// kills it: the OS releases the flock and the info it left is ignored.
func TestLockReleasedWhenHolderDies(t *testing.T) {
	ctx := context.Background()
	path := statePath(t)
	cmd, out := startChild(t, "hold-lock", path)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	var held LockInfo
	if err := json.Unmarshal([]byte(line), &held); err != nil {
		t.Fatal(err)
	}

	s := NewFileStore(path)
	_, err = s.Lock(ctx, "apply", 0)
	var le *LockedError
	if !errors.As(err, &le) || le.Info.ID != held.ID {
		t.Fatalf("Lock while the child holds it: %v, want *LockedError with ID %s", err, held.ID)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got, err := s.LockInfo(ctx); got != nil || err != nil {
		t.Errorf("LockInfo after the holder died = %+v, %v; want nil", got, err)
	}
	if _, err := os.Stat(s.LockPath()); err != nil {
		t.Errorf("the dead holder's lock file should still exist for this test to mean anything: %v", err)
	}
	l, err := s.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	defer l.Unlock()
	if l.Info().ID == held.ID {
		t.Error("the new lock kept the dead holder's ID")
	}
	if got := readLockFile(t, s.LockPath())["ID"]; got != l.Info().ID {
		t.Errorf("lock file ID %v, want the new holder's %s", got, l.Info().ID)
	}
}
