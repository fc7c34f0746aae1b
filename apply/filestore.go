package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wsgwctl/wsgwctl/state"
)

// File modes of what FileStore creates (D-2, D-20: state holds secrets).
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// Suffixes of the files kept next to the state file (FS-3, FS-4, D-1).
const (
	lockSuffix   = ".lock"
	backupSuffix = ".backup"
	// tmpSuffix starts the names of temporary files: PATH.tmp-* for a new
	// state and PATH.backup.tmp-* for a new backup.
	tmpSuffix = ".tmp-"
)

// Lock polling backoff bounds for Lock with a timeout.
const (
	minLockPoll = 10 * time.Millisecond
	maxLockPoll = time.Second
)

// errContended is returned by tryFlock when another holder has the lock.
var errContended = errors.New("lock is held by another process")

// FileStore keeps state in a local JSON file, its previous version in
// PATH.backup and the lock in PATH.lock (FS-2..FS-5, D-1).
//
// Locking is an OS advisory lock (flock) on PATH.lock, held for as long as
// the Lock is; the same file holds the holder's JSON LockInfo, written once
// the flock is taken. When the holder dies the operating system releases the
// flock and the info it left is ignored. Unlock removes the lock file and
// then releases the flock; a locker that opened the file before it was
// removed notices that the path no longer names the file it locked and
// starts again, so two holders never coexist.
//
// A FileStore is safe for concurrent use. Two FileStores (in one process or
// in two) on the same path exclude each other.
type FileStore struct {
	// Version is recorded in LockInfo.Version; "" records "dev".
	Version string

	path string

	mu   sync.Mutex
	held *fileLock // the lock this store holds, or nil

	// onContended, when set, is called each time Lock finds the lock held
	// and is about to wait (tests use it to order events).
	onContended func()
	// beforeReplace, when set, is called by Write after its checks, just
	// before it writes any file (the crash test times its kills from it).
	beforeReplace func()
}

// NewFileStore returns a store for the state file at path (the CLI passes
// .wsgw/state.json of the configuration directory, or --state). Nothing is
// created until the first Lock or Write.
func NewFileStore(path string) *FileStore {
	return &FileStore{path: path}
}

// Path returns the state file's path.
func (s *FileStore) Path() string { return s.path }

// LockPath returns the lock file's path, PATH.lock.
func (s *FileStore) LockPath() string { return s.path + lockSuffix }

// BackupPath returns the backup's path, PATH.backup.
func (s *FileStore) BackupPath() string { return s.path + backupSuffix }

// Read returns the state in the file, or nil when there is none. A file that
// cannot be parsed yields a *state.CorruptError, one of a newer format a
// *state.VersionError.
func (s *FileStore) Read(ctx context.Context) (*state.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return state.Read(s.path)
}

// Write replaces the state file with st atomically (FS-3): st is written to
// a temporary file in the same directory and synced; the current state, if
// any, becomes PATH.backup through a hard link (or a synced copy where links
// are not supported) renamed into place; then the temporary file is renamed
// over PATH and the directory synced. A crash at any instant leaves PATH and
// PATH.backup each holding a complete state. The directory is created 0700
// and files 0600.
//
// Write refuses to write a state that fails state.Validate, to replace a file
// that cannot be decoded or has a newer format (FS-5), and, when this store
// holds the lock, to write after the lock was force-unlocked (ErrLockLost).
// While it holds the lock it also removes temporary files left by a writer
// that crashed.
func (s *FileStore) Write(ctx context.Context, st *state.State) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if st == nil {
		return errors.New("write state: no state given")
	}
	if err := st.Validate(); err != nil {
		return fmt.Errorf("write state %s: refusing to write an invalid state: %w", s.path, err)
	}
	data, err := state.Marshal(st)
	if err != nil {
		return fmt.Errorf("write state %s: %w", s.path, err)
	}

	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if held != nil {
		if err := held.check(); err != nil {
			return fmt.Errorf("write state %s: %w", s.path, err)
		}
	}

	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("write state: create directory: %w", err)
	}
	current, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		current = nil
	case err != nil:
		return fmt.Errorf("write state: read current state: %w", err)
	default:
		if _, err := state.DecodeFile(s.path, current); err != nil {
			return fmt.Errorf("write state: refusing to replace the current state: %w", err)
		}
	}
	if held != nil {
		s.removeLeftovers()
	}
	if s.beforeReplace != nil {
		s.beforeReplace()
	}

	tmp, err := writeTemp(dir, filepath.Base(s.path)+tmpSuffix+"*", data)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = os.Remove(tmp)
		}
	}()

	if current != nil {
		if err := s.backup(dir, current); err != nil {
			return fmt.Errorf("write state: keep backup: %w", err)
		}
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// backup makes the current state file PATH.backup without ever exposing a
// partial backup: a hard link to the current file (or, where links fail, a
// synced copy of current, its content) is renamed over PATH.backup. The state
// file is only ever replaced by rename, never modified in place, so the link
// keeps the old content once the new state is renamed over PATH.
func (s *FileStore) backup(dir string, current []byte) error {
	pattern := filepath.Base(s.BackupPath()) + tmpSuffix + "*"
	tmp, err := linkTemp(s.path, dir, pattern)
	if err != nil {
		tmp, err = writeTemp(dir, pattern, current)
		if err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, s.BackupPath()); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	// When the backup already was a link to the current file (a writer died
	// between the two renames), rename(2) leaves both names in place.
	_ = os.Remove(tmp)
	return syncDir(dir)
}

// removeLeftovers deletes temporary files of crashed writers. It is only
// called while this store holds the lock, so no other writer is using them.
func (s *FileStore) removeLeftovers() {
	dir := filepath.Dir(s.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefixes := []string{
		filepath.Base(s.path) + tmpSuffix,
		filepath.Base(s.BackupPath()) + tmpSuffix,
	}
	for _, e := range entries {
		for _, p := range prefixes {
			if strings.HasPrefix(e.Name(), p) && e.Type().IsRegular() {
				_ = os.Remove(filepath.Join(dir, e.Name()))
				break
			}
		}
	}
}

// writeTemp writes data to a new file named by pattern in dir with mode 0600,
// syncs and closes it, and returns its path.
func writeTemp(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		_ = f.Close()
		_ = os.Remove(name)
		return "", err
	}
	if err := f.Chmod(fileMode); err != nil {
		return fail(fmt.Errorf("set mode of %s: %w", name, err))
	}
	if _, err := f.Write(data); err != nil {
		return fail(fmt.Errorf("write %s: %w", name, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("sync %s: %w", name, err))
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return "", fmt.Errorf("close %s: %w", name, err)
	}
	return name, nil
}

// linkTemp creates a hard link to target under a new name made from pattern
// in dir and returns that name.
func linkTemp(target, dir, pattern string) (string, error) {
	for range 10 {
		name := filepath.Join(dir, strings.Replace(pattern, "*", state.NewAPIID(), 1))
		err := os.Link(target, name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return name, nil
	}
	return "", errors.New("link backup: no free temporary name")
}

// syncDir flushes dir's entries (the renames made in it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return fmt.Errorf("sync directory %s: %w", dir, serr)
	}
	if cerr != nil {
		return fmt.Errorf("sync directory %s: %w", dir, cerr)
	}
	return nil
}

// Lock takes the state lock for operation op (e.g. "apply"). With timeout 0
// it fails at once when another command holds the lock; otherwise it polls,
// backing off from 10ms to 1s, until the lock is free, the timeout passes or
// ctx is done. Contention yields a *LockedError naming the holder.
func (s *FileStore) Lock(ctx context.Context, op string, timeout time.Duration) (Lock, error) {
	deadline := time.Now().Add(timeout)
	poll := minLockPoll
	for {
		f, err := s.tryLock()
		if err == nil {
			return s.locked(f, op)
		}
		if !errors.Is(err, errContended) {
			return nil, fmt.Errorf("acquire state lock: %w", err)
		}
		remaining := time.Until(deadline)
		if timeout <= 0 || remaining <= 0 {
			return nil, &LockedError{Info: s.holderInfo(), Waited: max(timeout, 0)}
		}
		if s.onContended != nil {
			s.onContended()
		}
		t := time.NewTimer(min(poll, remaining))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("acquire state lock: %w", ctx.Err())
		case <-t.C:
		}
		poll = min(2*poll, maxLockPoll)
	}
}

// tryLock opens (creating it if needed) the lock file and takes an exclusive
// flock on it without waiting. It returns errContended when another holder
// has it.
func (s *FileStore) tryLock() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(s.path), dirMode); err != nil {
		return nil, fmt.Errorf("create directory: %w", err)
	}
	// A holder that unlocks removes the file; a file we locked after that
	// is no longer the path's and must be given up. The retry count only
	// guards against a pathological stream of lock/unlock cycles.
	for range 100 {
		f, err := os.OpenFile(s.LockPath(), os.O_RDWR|os.O_CREATE, fileMode)
		if err != nil {
			return nil, err
		}
		if err := tryFlock(f, true); err != nil {
			_ = f.Close()
			return nil, err
		}
		same, err := namesFile(s.LockPath(), f)
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		if same {
			return f, nil
		}
		_ = f.Close()
	}
	return nil, errContended
}

// namesFile reports whether path currently names the open file f.
func namesFile(path string, f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// locked records the lock info in the flocked file f and returns the lock.
func (s *FileStore) locked(f *os.File, op string) (Lock, error) {
	version := s.Version
	if version == "" {
		version = "dev"
	}
	info := LockInfo{
		ID:        state.NewLineage(),
		Operation: op,
		Who:       who(),
		Created:   time.Now().UTC().Truncate(time.Second),
		Version:   version,
		Path:      s.path,
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err == nil {
		data = append(data, '\n')
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt(data, 0)
	}
	l := &fileLock{store: s, f: f, info: info}
	if err != nil {
		_ = l.Unlock()
		return nil, fmt.Errorf("acquire state lock: record lock info in %s: %w", s.LockPath(), err)
	}
	s.mu.Lock()
	s.held = l
	s.mu.Unlock()
	return l, nil
}

// holderInfo reads the lock info of the current holder. Fields the holder
// has not written yet (or wrote unreadably) are left empty; Path is always
// set.
func (s *FileStore) holderInfo() LockInfo {
	var info LockInfo
	if data, err := os.ReadFile(s.LockPath()); err == nil {
		_ = json.Unmarshal(data, &info)
	}
	if info.Path == "" {
		info.Path = s.path
	}
	return info
}

// LockInfo returns the info of the lock's current holder, or nil when no live
// process holds it (info left by a holder that died is ignored).
func (s *FileStore) LockInfo(ctx context.Context) (*LockInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read lock info: %w", err)
	}
	f, err := os.Open(s.LockPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock info: %w", err)
	}
	defer f.Close()
	err = tryFlock(f, false)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, errContended) {
		return nil, fmt.Errorf("read lock info: %w", err)
	}
	info := s.holderInfo()
	return &info, nil
}

// ForceUnlock removes the lock whose ID is id (CLI-12, D-1).
//
// When a live process holds the lock and its ID matches, the lock file is
// removed from PATH.lock: the holder keeps running (it is not signalled) but
// no longer excludes anyone, because the next Lock creates a fresh lock file.
// The old holder's Unlock leaves that new file alone, and its FileStore.Write
// fails with ErrLockLost instead of overwriting state written since. As with
// Terraform, breaking a lock whose command is still running is the user's
// responsibility.
//
// When no live process holds the lock, ForceUnlock fails with ErrNoLock
// (info left by a holder that died does not count as a lock, and is removed).
// When the IDs differ it fails with ErrLockIDMismatch and changes nothing.
func (s *FileStore) ForceUnlock(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	f, err := os.OpenFile(s.LockPath(), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("force-unlock: %w on %s", ErrNoLock, s.path)
	}
	if err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	defer f.Close()

	err = tryFlock(f, true)
	if err == nil {
		// Nobody holds it; the file is what a dead holder left behind.
		// Holding the flock, remove it if it is still the path's file.
		if same, _ := namesFile(s.LockPath(), f); same {
			_ = os.Remove(s.LockPath())
		}
		return fmt.Errorf("force-unlock: %w on %s (the lock info left there by a command that is no longer running is ignored)", ErrNoLock, s.path)
	}
	if !errors.Is(err, errContended) {
		return fmt.Errorf("force-unlock: %w", err)
	}
	info := s.holderInfo()
	if info.ID != id {
		held := info.ID
		if held == "" {
			held = "(not recorded yet)"
		}
		return fmt.Errorf("force-unlock: %w: the lock on %s has ID %s, not %s; check the ID with the lock error message and try again", ErrLockIDMismatch, s.path, held, id)
	}
	same, err := namesFile(s.LockPath(), f)
	if err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	if !same {
		// The holder unlocked (removing the file) while we looked.
		return fmt.Errorf("force-unlock: %w on %s (the lock was released meanwhile)", ErrNoLock, s.path)
	}
	if err := os.Remove(s.LockPath()); err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	return nil
}

// fileLock is a lock held by a FileStore: the open, flocked lock file.
type fileLock struct {
	store *FileStore
	info  LockInfo

	mu sync.Mutex
	f  *os.File // nil once unlocked
}

// Info returns the lock's recorded info.
func (l *fileLock) Info() LockInfo { return l.info }

// Unlock removes the lock file, if it is still this lock's (force-unlock may
// have replaced it), and releases the flock.
func (l *fileLock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var rerr error
	if same, _ := namesFile(l.store.LockPath(), l.f); same {
		if err := os.Remove(l.store.LockPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			rerr = fmt.Errorf("release state lock: %w", err)
		}
	}
	cerr := l.f.Close()
	l.f = nil
	l.store.mu.Lock()
	if l.store.held == l {
		l.store.held = nil
	}
	l.store.mu.Unlock()
	if rerr != nil {
		return rerr
	}
	if cerr != nil {
		return fmt.Errorf("release state lock: %w", cerr)
	}
	return nil
}

// check reports ErrLockLost when the lock file at the path is no longer this
// lock's, i.e. the lock was force-unlocked.
func (l *fileLock) check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	same, err := namesFile(l.store.LockPath(), l.f)
	if err != nil {
		return fmt.Errorf("check state lock: %w", err)
	}
	if !same {
		return fmt.Errorf("%w (lock ID %s); the state was not written. Run the command again", ErrLockLost, l.info.ID)
	}
	return nil
}

// who returns user@host for lock info.
func who() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid%d", os.Getuid())
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}
