//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package apply

import (
	"errors"
	"os"
	"syscall"
)

// tryFlock takes an advisory flock on f without blocking: exclusive, or
// shared when exclusive is false. It returns errContended when another open
// file description holds a conflicting lock. The lock is released when f is
// closed, or by the operating system when the process dies.
func tryFlock(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errContended
		default:
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
	}
}
