package apply

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsgwctl/wsgwctl/state"
)

// Crash test sizes: each state is about 100 kB (25 pages); larger states
// only make the race-instrumented run slower.
const (
	crashRuns   = 50
	crashAPIs   = 2
	crashRoutes = 25
)

// crashStates returns the states of the crash test: base (serial 1) and old
// (serial 2) are on disk as backup and state when the child starts; the child
// applies next (serial 3) over old.
func crashStates() (base, old, next *state.State) {
	return fixture(1, crashAPIs, crashRoutes, 1),
		fixture(2, crashAPIs, crashRoutes, 1, 2),
		fixture(3, crashAPIs, crashRoutes, 1, 2, 3)
}

// childApply locks the state at path and applies the crash test's next state
// over the old one.
func childApply(path string) int {
	next := fixture(3, crashAPIs, crashRoutes, 1, 2, 3)
	next.Lineage, next.Serial = "", 0
	store := NewFileStore(path)
	store.beforeReplace = func() { _, _ = os.Stdout.WriteString("writing\n") }
	ctx := context.Background()
	l, err := store.Lock(ctx, "apply", 0)
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	if _, err := Run(ctx, store, Prior{Lineage: fixtureLineage, Serial: 2}, next, Options{Now: fixedClock}); err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	if err := l.Unlock(); err != nil {
		os.Stderr.WriteString(err.Error())
		return 1
	}
	return 0
}

// TestCrashSafety kills a process that applies a new state over an old one
// with SIGKILL at random instants of its state write, crashRuns times. After
// every kill the state file must decode to exactly the old or the new state,
// the backup to exactly the one before the old or the old one (the old one
// whenever the new state is in place), and the next write must succeed
// despite any temporary files the dead writer left.
//
// The child signals on a pipe when FileStore.Write has done its checks and is
// about to touch the files; the kill delays, counted from then, come from a
// seeded generator (WSGW_CRASH_SEED overrides the seed) and are spread over
// 1.2 times the duration of those file operations measured in-process, so
// kills land all through the temporary file, backup and rename steps, and
// some after them.
func TestCrashSafety(t *testing.T) {
	ctx := context.Background()
	base, old, next := crashStates()
	after := fixture(4, crashAPIs, crashRoutes, 1, 2, 3, 4)

	// Lay out the starting files once: state = old, backup = base.
	seed := NewFileStore(filepath.Join(t.TempDir(), "state.json"))
	for _, st := range []*state.State{base, old} {
		if err := seed.Write(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	oldData := readFile(t, seed.Path())
	baseData := readFile(t, seed.BackupPath())
	setUp := func(t *testing.T) string {
		path := statePath(t)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, oldData, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".backup", baseData, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// Measure the file operations of one write to spread the kills over
	// them.
	calib := NewFileStore(setUp(t))
	var start time.Time
	calib.beforeReplace = func() { start = time.Now() }
	if err := calib.Write(ctx, next); err != nil {
		t.Fatal(err)
	}
	window := max(time.Since(start)*6/5, time.Millisecond)

	seedValue := uint64(20250601)
	if s := os.Getenv("WSGW_CRASH_SEED"); s != "" {
		var err error
		if seedValue, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("WSGW_CRASH_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seedValue, seedValue))
	t.Logf("seed %d, %d kB states, kills spread over %v", seedValue, len(oldData)/1024, window)

	encBase, encOld, encNext, encAfter := encode(t, base), encode(t, old), encode(t, next), encode(t, after)

	var sawOld, sawNew, leftovers int
	for i := range crashRuns {
		delay := time.Duration(rng.Int64N(int64(window)))
		path := setUp(t)
		cmd, out := startChild(t, "apply", path)
		if line, err := out.ReadString('\n'); err != nil || line != "writing\n" {
			t.Fatalf("run %d: child said %q, %v", i, line, err)
		}
		kill := time.NewTimer(delay) // the random kill point, not synchronisation
		<-kill.C
		_ = cmd.Process.Kill() // fails harmlessly when the child has finished
		_ = cmd.Wait()

		// Both files must decode, and be exactly one of the expected states.
		got := readFile(t, path)
		backup := readFile(t, path+".backup")
		mustDecode(t, path, got)
		mustDecode(t, path+".backup", backup)
		switch {
		case bytes.Equal(got, encOld):
			sawOld++
			if !bytes.Equal(backup, encBase) && !bytes.Equal(backup, encOld) {
				t.Fatalf("run %d (kill after %v): state is old, backup is neither base nor old", i, delay)
			}
		case bytes.Equal(got, encNext):
			sawNew++
			if !bytes.Equal(backup, encOld) {
				t.Fatalf("run %d (kill after %v): state is new, backup is not old", i, delay)
			}
		default:
			gotState, _ := state.DecodeFile(path, got)
			t.Fatalf("run %d (kill after %v): state is neither old nor new (-new +got):\n%s", i, delay, cmp.Diff(next, gotState))
		}
		if len(tempFiles(t, path)) > 0 {
			leftovers++
		}

		// The next write works over whatever the dead writer left, and
		// cleans it up.
		store := NewFileStore(path)
		l, err := store.Lock(ctx, "apply", 0)
		if err != nil {
			t.Fatalf("run %d: lock after the kill: %v", i, err)
		}
		if err := store.Write(ctx, after); err != nil {
			t.Fatalf("run %d: write after the kill: %v", i, err)
		}
		if !bytes.Equal(readFile(t, path+".backup"), got) {
			t.Fatalf("run %d: backup after the next write is not the surviving state", i)
		}
		if !bytes.Equal(readFile(t, path), encAfter) {
			t.Fatalf("run %d: state after the next write is not what was written", i)
		}
		if left := tempFiles(t, path); len(left) > 0 {
			t.Fatalf("run %d: temporary files remain after the next write: %v", i, left)
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d runs: %d left the old state, %d the new one; %d left temporary files", crashRuns, sawOld, sawNew, leftovers)
}

// encode returns the deterministic encoding of st.
func encode(t *testing.T, st *state.State) []byte {
	t.Helper()
	data, err := state.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// mustDecode fails the test unless data, the content of the file at path,
// decodes. The caller then compares data with the encodings of the states it
// may hold: the encoding is deterministic, so equal bytes are an equal
// decoded document, and comparing bytes is fast enough for 50 runs under the
// race detector where go-cmp over whole states is not.
func mustDecode(t *testing.T, path string, data []byte) {
	t.Helper()
	if _, err := state.DecodeFile(path, data); err != nil {
		t.Fatalf("%s does not decode: %v", path, err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tempFiles lists the temporary files next to the state file at path.
func tempFiles(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.Contains(e.Name(), tmpSuffix) {
			names = append(names, e.Name())
		}
	}
	return names
}
