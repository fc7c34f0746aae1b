package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mattn/go-isatty"

	"github.com/wsgwctl/wsgwctl/config"
)

// app is one run of the command line: the process environment it was started
// with and the values of the global flags. Commands receive it from their
// constructor and read everything through it, never from package variables
// or the os package, so that runs in one process (tests) do not leak into one
// another.
type app struct {
	// ctx ends when the process is asked to stop (SIGINT, SIGTERM).
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	// environ is the environment as KEY=VALUE pairs (os.Environ's form).
	environ []string
	// startDir is the absolute directory the command was started in. Paths
	// given on the command line are relative to it (D-4). It must be the
	// process's working directory: paths handed on as the user wrote them
	// (to config.Load, for instance) are resolved against that.
	startDir string
	// isTerminal reports whether a file descriptor is a terminal; nil means
	// the real check (go-isatty). Tests replace it.
	isTerminal func(fd uintptr) bool

	// Global flags (SPEC §2).
	chdir     string   // -C/--chdir, the configuration directory as given
	state     string   // --state as given, "" when not set
	noColor   bool     // --no-color
	vars      []string // --var NAME=VALUE, in command-line order
	varFiles  []string // --var-file FILE as given, in command-line order
	chdirSet  bool     // whether -C/--chdir was given
	prepared  bool     // whether prepare has run
	configAbs string   // absolute configuration directory, set by prepare
}

// usageError is a mistake in how the command line was written: an unknown
// flag or command, a malformed flag value, a missing path. It exits 1 (D-10)
// and its message names the problem.
type usageError struct {
	msg string
}

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode is returned by a command that has already printed everything it
// had to say (diagnostics, a list of files) and only needs the process to
// exit with a given status.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// prepare checks and resolves the global flags once cobra has parsed them:
// every --var must be NAME=VALUE, and the configuration directory must exist
// when -C names one. Commands may rely on it having run before their RunE.
func (a *app) prepare() error {
	if a.prepared {
		return nil
	}
	for _, v := range a.vars {
		name, _, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return usagef("invalid value %q for --var: expected NAME=VALUE, for example --var 'region=eu-west-1'", v)
		}
	}
	for _, f := range a.varFiles {
		if f == "" {
			return usagef("invalid value for --var-file: expected a file path")
		}
	}
	a.configAbs = a.resolvePath(a.chdir)
	if a.chdirSet {
		info, err := os.Stat(a.configAbs)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return usagef("configuration directory %s given by -C/--chdir does not exist", a.chdir)
		case err != nil:
			return fmt.Errorf("read configuration directory: %w", err)
		case !info.IsDir():
			return usagef("-C/--chdir %s is not a directory", a.chdir)
		}
	}
	a.prepared = true
	return nil
}

// resolvePath returns p as an absolute path, taking a relative p to be
// relative to the directory the command was started in (D-4), not to the
// configuration directory.
func (a *app) resolvePath(p string) string {
	if p == "" {
		return a.startDir
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(a.startDir, p)
}

// configDir returns the absolute configuration directory (-C, default the
// starting directory).
func (a *app) configDir() string {
	if a.configAbs != "" {
		return a.configAbs
	}
	return a.resolvePath(a.chdir)
}

// statePath returns the absolute path of the state file: --state resolved
// against the starting directory when given, else .wsgw/state.json inside the
// configuration directory (FS-2).
func (a *app) statePath() string {
	if a.state != "" {
		return a.resolvePath(a.state)
	}
	return filepath.Join(a.configDir(), ".wsgw", "state.json")
}

// loadConfig loads the configuration directory with the global flags'
// variables and the run's environment. allowUnset is true for validate only
// (D-6). The directory and the variable files are passed on as the user wrote
// them (relative to the starting directory, which is the working directory),
// so that diagnostics, and the messages HCL writes into them, name files as
// the user knows them: main.wsgw.hcl, conf/main.wsgw.hcl, prod.wsgwvars.hcl.
func (a *app) loadConfig(allowUnset bool) (*config.Loaded, hcl.Diagnostics) {
	return config.Load(filepath.Clean(a.chdir), config.LoadOptions{
		Vars:                a.vars,
		VarFiles:            a.varFiles,
		Environ:             a.environ,
		AllowUnsetVariables: allowUnset,
	})
}

// getenv returns the value of the environment variable key in the run's
// environment, or "" when it is not set.
func (a *app) getenv(key string) string {
	for i := len(a.environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(a.environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// colorFor reports whether output written to w may use colour: not when
// --no-color is given, not when NO_COLOR is set to a non-empty value, and not
// when w is not a terminal. Each stream is decided on its own.
func (a *app) colorFor(w io.Writer) bool {
	if a.noColor || a.getenv("NO_COLOR") != "" {
		return false
	}
	return a.writerIsTerminal(w)
}

// writerIsTerminal reports whether w is a terminal, whatever the colour
// settings.
func (a *app) writerIsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	if a.isTerminal != nil {
		return a.isTerminal(f.Fd())
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
