package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/config"
)

func init() {
	registerCommand(newFmtCmd)
}

// fmt exit statuses beyond 0 and 1 (CLI-2).
const (
	fmtExitSyntaxError = 2
	fmtExitUnformatted = 3
)

// stdinName is the file name used for standard input in diagnostics and
// diffs.
const stdinName = "<stdin>"

// fmtOptions are the flags of `wsgwctl fmt`.
type fmtOptions struct {
	check     bool
	diff      bool
	recursive bool
}

// newFmtCmd returns `wsgwctl fmt` (CLI-2, D-9).
func newFmtCmd(a *app) *cobra.Command {
	var o fmtOptions
	cmd := &cobra.Command{
		Use:   "fmt [PATH...|-]",
		Short: "Rewrite configuration files in the canonical format",
		Long: "Rewrites *.wsgw.hcl and *.wsgwvars.hcl files in the canonical layout and lists each\n" +
			"file it changed. PATH is a directory (default: the configuration directory) or any\n" +
			".hcl file; relative paths are relative to the directory wsgwctl was started in.\n" +
			"With -, reads standard input and writes the formatted text to standard output (or,\n" +
			"with --diff, only the diff). A file with a syntax error is reported and left as it is.\n\n" +
			"Exit status: 0 ok, 1 usage error, 2 a file has a syntax error, 3 --check found files\n" +
			"that are not formatted.",
		Args: cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] == "-" {
				return runFmtStdin(a, o)
			}
			return runFmt(a, o, args)
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&o.check, "check", false, "write nothing; list files that are not formatted and exit 3 if any")
	flags.BoolVar(&o.diff, "diff", false, "print a unified diff of the changes")
	flags.BoolVar(&o.recursive, "recursive", false, "also format files in subdirectories")
	return cmd
}

// fmtTarget is one file fmt looks at.
type fmtTarget struct {
	path    string // absolute path
	display string // the path as the user would write it from the starting directory
}

// runFmt formats the files the arguments name and reports the outcome as an
// exit status: files with syntax errors win over unformatted files found by
// --check.
func runFmt(a *app, o fmtOptions, args []string) error {
	targets, err := fmtTargets(a, args, o.recursive)
	if err != nil {
		return err
	}
	syntaxErrors, unformatted := false, false
	for _, t := range targets {
		src, err := os.ReadFile(t.path)
		if err != nil {
			return fmt.Errorf("read %s: %w", t.display, err)
		}
		out, diags := config.Format(src, t.display)
		if diags.HasErrors() {
			writeSourceDiagnostics(a, t.display, src, diags)
			syntaxErrors = true
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		unformatted = true
		if !o.check {
			if err := writeFileAtomic(t.path, out); err != nil {
				return fmt.Errorf("write %s: %w", t.display, err)
			}
		}
		fmt.Fprintln(a.stdout, t.display)
		if o.diff {
			writeUnifiedDiff(a.stdout, t.display, src, out, a.colorFor(a.stdout))
		}
	}
	switch {
	case syntaxErrors:
		return exitCode(fmtExitSyntaxError)
	case o.check && unformatted:
		return exitCode(fmtExitUnformatted)
	}
	return nil
}

// runFmtStdin formats standard input. Without --check or --diff it writes the
// formatted text to standard output; with --diff it writes only the diff; with
// --check alone it writes nothing.
func runFmtStdin(a *app, o fmtOptions) error {
	src, err := io.ReadAll(a.stdin)
	if err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	out, diags := config.Format(src, stdinName)
	if diags.HasErrors() {
		writeSourceDiagnostics(a, stdinName, src, diags)
		return exitCode(fmtExitSyntaxError)
	}
	switch {
	case o.diff:
		writeUnifiedDiff(a.stdout, stdinName, src, out, a.colorFor(a.stdout))
	case !o.check:
		if _, err := a.stdout.Write(out); err != nil {
			return fmt.Errorf("write standard output: %w", err)
		}
	}
	if o.check && !bytes.Equal(src, out) {
		return exitCode(fmtExitUnformatted)
	}
	return nil
}

// writeSourceDiagnostics prints diags about the source src of the file
// named name to stderr.
func writeSourceDiagnostics(a *app, name string, src []byte, diags hcl.Diagnostics) {
	// A partial parse still knows the enclosing blocks, for "in api ..." context.
	f, _ := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if f == nil {
		f = &hcl.File{Bytes: src}
	}
	files := map[string]*hcl.File{name: f}
	newDiagnosticsView(a.stderr, files, a.colorFor(a.stderr)).Write(diags)
}

// fmtTargets expands the arguments into the files to format, in order and
// without duplicates. No arguments means the configuration directory. A
// directory contributes its *.wsgw.hcl and *.wsgwvars.hcl files (and those of
// its subdirectories when recursive, skipping .wsgw and hidden directories);
// a file is taken as it is when its name ends in .hcl. Any other argument is
// a usage error.
func fmtTargets(a *app, args []string, recursive bool) ([]fmtTarget, error) {
	type root struct{ path, display string }
	var roots []root
	if len(args) == 0 {
		roots = append(roots, root{a.configDir(), a.chdir})
	}
	for _, arg := range args {
		if arg == "-" {
			return nil, usagef("- (standard input) cannot be combined with other paths")
		}
		roots = append(roots, root{a.resolvePath(arg), arg})
	}

	var targets []fmtTarget
	seen := map[string]bool{}
	add := func(t fmtTarget) {
		if !seen[t.path] {
			seen[t.path] = true
			targets = append(targets, t)
		}
	}
	for _, r := range roots {
		info, err := os.Stat(r.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, usagef("no file or directory at %s", r.display)
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", r.display, err)
		case !info.IsDir():
			if !strings.HasSuffix(r.path, ".hcl") {
				return nil, usagef("%s is not an .hcl file: fmt formats *.wsgw.hcl and *.wsgwvars.hcl files, or a .hcl file named explicitly", r.display)
			}
			add(fmtTarget{path: r.path, display: r.display})
			continue
		}
		files, err := configFilesIn(r.path, recursive)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", r.display, err)
		}
		for _, rel := range files {
			add(fmtTarget{path: filepath.Join(r.path, rel), display: filepath.Join(r.display, rel)})
		}
	}
	return targets, nil
}

// isConfigFileName reports whether name is one fmt formats in a directory.
func isConfigFileName(name string) bool {
	return strings.HasSuffix(name, ".wsgw.hcl") || strings.HasSuffix(name, ".wsgwvars.hcl")
}

// configFilesIn returns the paths, relative to dir and in lexical order, of
// the configuration files in dir, and in its subdirectories when recursive.
// The state directory .wsgw and hidden directories are skipped.
func configFilesIn(dir string, recursive bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == dir {
				return nil
			}
			if !recursive || strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !isConfigFileName(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// Follow a link to a file; a link to a directory is not walked.
			info, err := os.Stat(path)
			if err != nil || info.IsDir() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, rel)
		return nil
	})
	return files, err
}

// writeFileAtomic replaces the file at path (or, when path is a symbolic
// link, the file it points to) with data: it writes a temporary file in the
// same directory with the original's permissions, syncs it and renames it
// over the original, so that a reader sees either the old or the new content.
func writeFileAtomic(path string, data []byte) (err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(info.Mode().Perm()); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable; not every platform can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
