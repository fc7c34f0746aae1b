//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package apply

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
)

// tryFlock reports that this platform has no flock: FileStore cannot lock
// state here, and refuses rather than write unprotected.
func tryFlock(f *os.File, exclusive bool) error {
	return fmt.Errorf("lock %s: state locking is not supported on %s: %w", f.Name(), goruntime.GOOS, errors.ErrUnsupported)
}
