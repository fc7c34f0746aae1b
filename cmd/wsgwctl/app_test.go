package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// fakeTerminal is a writer with a file descriptor, for colour decisions.
type fakeTerminal struct{ bytes.Buffer }

func (*fakeTerminal) Fd() uintptr { return 42 }

func TestColorFor(t *testing.T) {
	tests := []struct {
		name     string
		noColor  bool
		environ  []string
		terminal bool
		w        func() any
		want     bool
	}{
		{name: "terminal", terminal: true, want: true},
		{name: "not a terminal", terminal: false, want: false},
		{name: "--no-color", noColor: true, terminal: true, want: false},
		{name: "NO_COLOR set", environ: []string{"NO_COLOR=1"}, terminal: true, want: false},
		{name: "NO_COLOR empty", environ: []string{"NO_COLOR="}, terminal: true, want: true},
		{name: "NO_COLOR set then cleared", environ: []string{"NO_COLOR=1", "NO_COLOR="}, terminal: true, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{noColor: tt.noColor, environ: tt.environ, isTerminal: func(fd uintptr) bool {
				return fd == 42 && tt.terminal
			}}
			if got := a.colorFor(&fakeTerminal{}); got != tt.want {
				t.Errorf("colorFor = %v, want %v", got, tt.want)
			}
			if a.colorFor(&bytes.Buffer{}) {
				t.Error("colorFor a writer without a file descriptor = true")
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		a       app
		wantErr string // substring of the usage error; "" for success
	}{
		{name: "defaults", a: app{chdir: "."}},
		{name: "vars", a: app{chdir: ".", vars: []string{"a=1", "b=x,y", "c=", "d==e"}}},
		{name: "var without =", a: app{chdir: ".", vars: []string{"a=1", "region"}}, wantErr: `invalid value "region" for --var: expected NAME=VALUE`},
		{name: "var without name", a: app{chdir: ".", vars: []string{"=1"}}, wantErr: `invalid value "=1" for --var`},
		{name: "empty var file", a: app{chdir: ".", varFiles: []string{""}}, wantErr: "--var-file"},
		{name: "missing -C", a: app{chdir: "nope", chdirSet: true}, wantErr: "configuration directory nope given by -C/--chdir does not exist"},
		{name: "-C names a file", a: app{chdir: "file", chdirSet: true}, wantErr: "-C/--chdir file is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.startDir = dir
			err := a.prepare()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("prepare: %v", err)
				}
				return
			}
			var usage *usageError
			if !errors.As(err, &usage) {
				t.Fatalf("prepare error = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("prepare error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPathsAreRelativeToTheStartingDirectory(t *testing.T) {
	a := &app{startDir: "/start", chdir: "conf", state: "s/state.json"}
	if got := a.configDir(); got != "/start/conf" {
		t.Errorf("configDir = %q", got)
	}
	if got := a.statePath(); got != "/start/s/state.json" {
		t.Errorf("statePath = %q", got)
	}
	a.state = ""
	if got := a.statePath(); got != "/start/conf/.wsgw/state.json" {
		t.Errorf("default statePath = %q", got)
	}
}

func TestVersionString(t *testing.T) {
	build := func(v string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	tests := []struct {
		name               string
		linkVer, linkCommt string
		info               *debug.BuildInfo
		want               string
	}{
		{name: "no information", want: "wsgwctl dev"},
		{name: "devel build", info: build("(devel)"), want: "wsgwctl dev"},
		{name: "module version", info: build("v1.2.3"), want: "wsgwctl v1.2.3"},
		{name: "vcs commit", info: build("(devel)", "vcs.revision", "abc123", "vcs.modified", "false"), want: "wsgwctl dev (commit abc123)"},
		{name: "modified tree", info: build("v1.2.3", "vcs.revision", "abc123", "vcs.modified", "true"), want: "wsgwctl v1.2.3 (commit abc123, modified)"},
		{name: "link-time values win", linkVer: "v2.0.0", linkCommt: "def456", info: build("v1.2.3", "vcs.revision", "abc123", "vcs.modified", "true"), want: "wsgwctl v2.0.0 (commit def456)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionString(tt.linkVer, tt.linkCommt, tt.info); got != tt.want {
				t.Errorf("versionString = %q, want %q", got, tt.want)
			}
		})
	}
}

// runIn runs the command line in-process in dir (which becomes the working
// directory for the rest of the test) and returns its status and output.
func runIn(t *testing.T, dir string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, startDir: dir}
	code = a.execute(args)
	return code, out.String(), errOut.String()
}

func TestRunInProcess(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring
		wantStderr string // substring
	}{
		{name: "version", args: []string{"version"}, wantStdout: "wsgwctl "},
		{name: "help", args: []string{"--help"}, wantStdout: "Available Commands:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 1, wantStderr: `Error: unknown command "frobnicate" for "wsgwctl"`},
		{name: "unknown flag", args: []string{"version", "--frob"}, wantCode: 1, wantStderr: "Error: unknown flag: --frob\nRun 'wsgwctl version --help' for usage.\n"},
		{name: "malformed --var after the command", args: []string{"version", "--var", "x"}, wantCode: 1, wantStderr: `Error: invalid value "x" for --var: expected NAME=VALUE`},
		{name: "extra argument", args: []string{"version", "now"}, wantCode: 1, wantStderr: `Error: unexpected argument "now": wsgwctl version takes no arguments`},
		{name: "stdin formatting", args: []string{"fmt", "-"}, wantStdout: "a = 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, dir, "a=1\n", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantStderr)
			}
		})
	}
}

// TestRunsDoNotShareState runs commands one after another in one process
// and checks that flags of one run do not carry over into the next.
func TestRunsDoNotShareState(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.wsgw.hcl")
	if err := os.WriteFile(file, []byte("a=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runIn(t, dir, "", "fmt", "--check"); code != 3 {
		t.Fatalf("fmt --check: status %d, stderr %s", code, stderr)
	}
	code, stdout, stderr := runIn(t, dir, "", "fmt")
	if code != 0 || stdout != "a.wsgw.hcl\n" {
		t.Fatalf("fmt after fmt --check: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "a = 1\n" {
		t.Errorf("file after fmt = %q", got)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("file mode after fmt = %v, %v; want 0600", info.Mode().Perm(), err)
	}
}

func TestWriteFileAtomicFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.wsgw.hcl")
	link := filepath.Join(dir, "link.wsgw.hcl")
	if err := os.WriteFile(target, []byte("a=1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if err := writeFileAtomic(link, []byte("a = 1\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link was replaced by a regular file")
	}
	got, _ := os.ReadFile(target)
	if string(got) != "a = 1\n" {
		t.Errorf("target = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}

func TestGlobalFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{name: "before the command", args: []string{"-C", "conf", "--var", "list=a,b,c", "--var", "n=1", "--var-file", "x.wsgwvars.hcl", "--state", "s.json", "--no-color", "version"}},
		{name: "after the command", args: []string{"version", "--chdir=conf", "--var=list=a,b,c", "--var", "n=1", "--var-file=x.wsgwvars.hcl", "--state=s.json", "--no-color"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(dir)
			a := &app{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, startDir: dir}
			if code := a.execute(tt.args); code != 0 {
				t.Fatalf("exit status %d: %s", code, a.stderr)
			}
			if got, want := strings.Join(a.vars, "|"), "list=a,b,c|n=1"; got != want {
				t.Errorf("vars = %q, want %q (commas kept, order kept)", got, want)
			}
			if got := a.configDir(); got != filepath.Join(dir, "conf") {
				t.Errorf("configDir = %q", got)
			}
			if got := strings.Join(a.varFiles, "|"); got != "x.wsgwvars.hcl" {
				t.Errorf("varFiles = %q", got)
			}
			if got := a.statePath(); got != filepath.Join(dir, "s.json") {
				t.Errorf("statePath = %q, want relative to the starting directory, not -C", got)
			}
			if !a.noColor {
				t.Error("--no-color not set")
			}
		})
	}
}
