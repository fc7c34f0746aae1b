package observe

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// Access-log destinations that are not file paths (§3.2).
const (
	DestinationStdout = "stdout"
	DestinationStderr = "stderr"
)

// QueueBytes is how many bytes of rendered lines a destination holds while
// its writer catches up; a line that does not fit is dropped and counted.
const QueueBytes = 1 << 20

const (
	// maxPooledLine is the largest line buffer returned to the pool, so one
	// huge line does not pin its memory.
	maxPooledLine = 16 << 10
)

// Log attribute keys AccessLogs uses for its own failures.
const (
	KeyDestination = "destination"
)

// ErrClosed is returned by AccessLogs.Stage after Close.
var ErrClosed = errors.New("access logs closed")

var linePool = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

func putLine(b *[]byte) {
	if cap(*b) > maxPooledLine {
		return
	}
	*b = (*b)[:0]
	linePool.Put(b)
}

// AccessLogs owns the access-log destinations of every stage (RT-32) and the
// goroutines writing to them. Its methods are safe for concurrent use.
type AccessLogs struct {
	stdout, stderr io.Writer
	log            *slog.Logger

	dropped atomic.Uint64

	mu     sync.Mutex
	sinks  map[string]*sink
	closed bool
}

// NewAccessLogs returns access logs that write "stdout" destinations to
// stdout and "stderr" ones to stderr; each is written by one goroutine at a
// time, so stdout and stderr must be different writers or safe for concurrent
// use; a nil one discards. Write failures are logged to log (nil discards them), once per
// destination until a write succeeds again.
func NewAccessLogs(stdout, stderr io.Writer, log *slog.Logger) *AccessLogs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return &AccessLogs{stdout: stdout, stderr: stderr, log: log, sinks: make(map[string]*sink)}
}

// Stage compiles cfg's format and binds it to cfg's destination, opening the
// destination unless another stage already writes to it. A nil cfg (a stage
// without an `access_log` block) yields a nil *AccessLog, whose Log does
// nothing. A file destination is resolved against the working directory,
// created 0644 with its parent directories (0755) and appended to.
func (a *AccessLogs) Stage(cfg *model.AccessLog) (*AccessLog, error) {
	if cfg == nil {
		return nil, nil
	}
	key := cfg.Destination
	if key != DestinationStdout && key != DestinationStderr {
		abs, err := filepath.Abs(cfg.Destination)
		if err != nil {
			return nil, fmt.Errorf("resolve access log path %q: %w", cfg.Destination, err)
		}
		key = abs
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	s := a.sinks[key]
	if s == nil {
		var (
			w io.Writer
			f *os.File
		)
		switch key {
		case DestinationStdout:
			w = a.stdout
		case DestinationStderr:
			w = a.stderr
		default:
			var err error
			if f, err = openAppend(key); err != nil {
				return nil, err
			}
			w = f
		}
		s = newSink(key, w, f, &a.dropped, a.log)
		a.sinks[key] = s
	}
	return &AccessLog{format: CompileFormat(cfg.Format), sink: s}, nil
}

func openAppend(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create access log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open access log: %w", err)
	}
	return f, nil
}

// Retain closes every destination none of live writes to, after writing the
// lines already queued for it. The gateway calls it after swapping in a new
// table, with the access logs of every stage that table serves (nil ones
// are ignored). Lines that handles of the previous table log to a closed
// destination are dropped and counted.
func (a *AccessLogs) Retain(live ...*AccessLog) error {
	keep := make(map[*sink]bool, len(live))
	for _, l := range live {
		if l != nil {
			keep[l.sink] = true
		}
	}
	var gone []*sink
	a.mu.Lock()
	for key, s := range a.sinks {
		if !keep[s] {
			gone = append(gone, s)
			delete(a.sinks, key)
		}
	}
	a.mu.Unlock()
	return closeSinks(gone)
}

// Close writes every queued line, stops the writers and closes the files.
// Stage fails afterwards, and lines logged afterwards are dropped and counted.
func (a *AccessLogs) Close() error {
	a.mu.Lock()
	a.closed = true
	gone := make([]*sink, 0, len(a.sinks))
	for key, s := range a.sinks {
		gone = append(gone, s)
		delete(a.sinks, key)
	}
	a.mu.Unlock()
	return closeSinks(gone)
}

func closeSinks(sinks []*sink) error {
	var errs []error
	for _, s := range sinks {
		if err := s.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dropped returns how many lines were not written since NewAccessLogs: lines
// logged while their destination's queue was full or after it was closed.
func (a *AccessLogs) Dropped() uint64 { return a.dropped.Load() }

// AccessLog is one stage's access log: a compiled format bound to a
// destination. A nil *AccessLog logs nothing.
type AccessLog struct {
	format *Format
	sink   *sink
}

// Format returns the compiled format, nil for a nil *AccessLog.
func (l *AccessLog) Format() *Format {
	if l == nil {
		return nil
	}
	return l.format
}

// Log renders a line with the values lookup gives and queues it for writing.
// It never blocks on the destination: a line that finds the queue full is
// dropped and counted.
func (l *AccessLog) Log(lookup Lookup) {
	if l == nil {
		return
	}
	b := linePool.Get().(*[]byte)
	*b = l.format.Append((*b)[:0], lookup)
	*b = append(*b, '\n')
	l.sink.enqueue(*b)
	putLine(b)
}

// sink is one destination: a bounded buffer of rendered lines that one
// writer goroutine swaps out and writes whole, one write per batch, so a
// line costs the message path a lock and a copy, and the destination one
// write for however many lines arrived while the previous write ran.
type sink struct {
	key     string
	w       io.Writer
	file    *os.File // nil for stdout and stderr, which are never closed
	dropped *atomic.Uint64
	log     *slog.Logger
	wake    chan struct{} // capacity 1: pending became non-empty, or closed
	done    chan struct{}

	mu      sync.Mutex
	pending []byte // whole lines waiting for the writer, at most QueueBytes
	closed  bool

	err error // the first write error, owned by run until done is closed
}

func newSink(key string, w io.Writer, f *os.File, dropped *atomic.Uint64, log *slog.Logger) *sink {
	s := &sink{
		key:     key,
		w:       w,
		file:    f,
		dropped: dropped,
		log:     log,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go s.run()
	return s
}

func (s *sink) enqueue(line []byte) {
	s.mu.Lock()
	if s.closed || len(s.pending)+len(line) > QueueBytes {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	first := len(s.pending) == 0
	s.pending = append(s.pending, line...)
	s.mu.Unlock()
	if first {
		s.signal()
	}
}

func (s *sink) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run writes batches of lines until the sink is closed and drained. A write
// failure is logged once until a write succeeds again; the lines of a failed
// write are lost.
func (s *sink) run() {
	defer close(s.done)
	var batch []byte
	failing := false
	for {
		s.mu.Lock()
		for len(s.pending) == 0 && !s.closed {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return
		}
		batch, s.pending = s.pending, batch[:0]
		s.mu.Unlock()

		if _, err := s.w.Write(batch); err != nil {
			if s.err == nil {
				s.err = err
			}
			if !failing {
				failing = true
				s.log.Error("write access log", KeyDestination, s.key, KeyError, err)
			}
		} else {
			failing = false
		}
	}
}

func (s *sink) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	var errs []error
	if s.err != nil {
		errs = append(errs, fmt.Errorf("write access log %s: %w", s.key, s.err))
	}
	if s.file != nil {
		if err := s.file.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close access log %s: %w", s.key, err))
		}
	}
	return errors.Join(errs...)
}
