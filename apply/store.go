package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wsgwctl/wsgwctl/state"
)

// Store is where state is kept and how writers exclude each other (FS-3,
// FS-4). FileStore keeps it in a local file; a shared cluster backend can
// implement the same interface.
type Store interface {
	// Read returns the current state, or nil when none has been written.
	Read(ctx context.Context) (*state.State, error)
	// Write replaces the state atomically. The caller holds the lock.
	Write(ctx context.Context, s *state.State) error
	// Lock takes the state lock, waiting up to timeout (0: fail at once). On
	// contention it returns *LockedError carrying the holder's LockInfo.
	Lock(ctx context.Context, op string, timeout time.Duration) (Lock, error)
	// ForceUnlock removes a lock whose ID matches (CLI-12, D-1).
	ForceUnlock(ctx context.Context, id string) error
	// LockInfo returns the current holder's info, or nil.
	LockInfo(ctx context.Context) (*LockInfo, error)
}

// Lock is a held state lock.
type Lock interface {
	// Info returns what was recorded about this lock.
	Info() LockInfo
	// Unlock releases the lock. Calling it again does nothing.
	Unlock() error
}

// LockInfo describes a lock holder (D-1). Its JSON form is the content of the
// lock file.
type LockInfo struct {
	// ID is a random UUID naming this lock; force-unlock takes it.
	ID string `json:"ID"`
	// Operation is the command holding the lock, e.g. "apply".
	Operation string `json:"Operation"`
	// Who is user@host of the holder.
	Who string `json:"Who"`
	// Created is when the lock was taken, in UTC.
	Created time.Time `json:"Created"`
	// Version is the holder's wsgwctl version.
	Version string `json:"Version"`
	// Path is the locked state file.
	Path string `json:"Path"`
}

// String renders the info as an indented block, Terraform style.
func (i LockInfo) String() string {
	val := func(s string) string {
		if s == "" {
			return "(not recorded)"
		}
		return s
	}
	created := "(not recorded)"
	if !i.Created.IsZero() {
		created = i.Created.UTC().Format(time.RFC3339)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  ID:        %s\n", val(i.ID))
	fmt.Fprintf(&b, "  Path:      %s\n", val(i.Path))
	fmt.Fprintf(&b, "  Operation: %s\n", val(i.Operation))
	fmt.Fprintf(&b, "  Who:       %s\n", val(i.Who))
	fmt.Fprintf(&b, "  Version:   %s\n", val(i.Version))
	fmt.Fprintf(&b, "  Created:   %s\n", created)
	return b.String()
}

// LockedError reports that another command holds the state lock (FS-4).
type LockedError struct {
	// Info is the holder's lock info. Its fields are empty when the holder
	// had not recorded them yet; Path is always set.
	Info LockInfo
	// Waited is how long Lock waited before giving up (0: it did not wait).
	Waited time.Duration
}

// Error returns a message for users naming the holder and the ways out.
func (e *LockedError) Error() string {
	var b strings.Builder
	b.WriteString("Error acquiring the state lock")
	if e.Waited > 0 {
		fmt.Fprintf(&b, " (gave up after waiting %s)", e.Waited)
	}
	b.WriteString("\n\nLock Info:\n")
	b.WriteString(e.Info.String())
	b.WriteString("\nwsgwctl locks the state so that only one command writes it at a time. ")
	b.WriteString("Wait for the command above to finish and try again, or pass --lock-timeout (e.g. --lock-timeout 30s) to wait for the lock. ")
	id := e.Info.ID
	if id == "" {
		id = "ID"
	}
	fmt.Fprintf(&b, "If you are sure no command holds it, remove the lock with: wsgwctl force-unlock %s", id)
	return b.String()
}

// ErrNoLock is reported by ForceUnlock when no lock is held.
var ErrNoLock = errors.New("no lock is held")

// ErrLockIDMismatch is reported by ForceUnlock when the lock held has a
// different ID than the one given.
var ErrLockIDMismatch = errors.New("lock ID does not match")

// ErrLockLost is reported by Write when the lock the store held was removed
// by force-unlock, so the write could overwrite another command's state.
var ErrLockLost = errors.New("the state lock was force-unlocked while this command held it")
