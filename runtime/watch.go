package runtime

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/wsgwctl/wsgwctl/state"
)

// DefaultWatchInterval is how often WatchStateFile looks at the state file.
// Together with loading, it keeps a new state served well within the second
// that RT-30 and D-46 allow after apply exits.
const DefaultWatchInterval = 200 * time.Millisecond

// WatchStateFile serves the state file at path: it loads it when its serial
// differs from the served one, and keeps looking every interval (0 means
// DefaultWatchInterval) until ctx ends (RT-30). A file that is missing, cannot
// be read or decoded, or does not compile is reported to onError and the
// state served before keeps serving; the same broken file is reported once.
// apply replaces the file by renaming a new one over it, so a reader never
// sees a torn document.
func (s *Server) WatchStateFile(ctx context.Context, path string, interval time.Duration, onError func(error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	var (
		last    os.FileInfo
		lastErr string
	)
	report := func(err error) {
		if err.Error() != lastErr {
			lastErr = err.Error()
			if onError != nil {
				onError(err)
			}
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Nothing applied yet, or the file is being replaced: keep what
			// is served.
		case err != nil:
			report(err)
		case last == nil || !os.SameFile(fi, last) || !fi.ModTime().Equal(last.ModTime()) || fi.Size() != last.Size():
			if err := s.loadFile(path); err != nil {
				report(err)
			} else {
				lastErr = ""
			}
			last = fi
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// loadFile loads the state file at path unless it holds the served serial.
func (s *Server) loadFile(path string) error {
	st, err := state.Read(path)
	if err != nil {
		return err
	}
	if st == nil {
		return nil
	}
	if t := s.table.Load(); t != nil && t.lineage == st.Lineage && t.serial == st.Serial {
		return nil
	}
	return s.Load(st)
}
