package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestFixtures runs the configuration fixtures under testdata/fixtures.
//
// Each fixture is a txtar archive, testdata/fixtures/{valid,invalid}/NAME.txtar.
// Its files are written into an empty temporary directory, which is then
// loaded with Load and AllowUnsetVariables. Files named *.wsgw.hcl form the
// configuration; any other file (a JSON schema, a template, vars/*.hcl) is a
// supporting file. An optional file named "args" holds one option per line:
//
//	--var NAME=VALUE      a --var flag (in order)
//	--var-file PATH       a --var-file, PATH relative to the fixture directory
//	--env NAME=VALUE      an environment entry, e.g. --env WSGW_VAR_x=1
//	--strict              do not allow unset variables (plan/apply behaviour)
//
// Expected diagnostics are marked in the files themselves, as comments:
//
//	# ERROR: SUMMARY          an error on this line
//	# WARNING: SUMMARY        a warning on this line
//	# ERROR@+N: SUMMARY       an error N lines below (e.g. inside a heredoc);
//	                          @-N is N lines above
//	# ERROR@FILE:LINE: SUMMARY  an error at LINE of FILE (a file of the
//	                          archive, e.g. a JSON schema that cannot carry
//	                          comments)
//	# ERROR@none: SUMMARY     an error without a source range (e.g. about a
//	                          --var flag)
//
// "//" may be used instead of "#". Several markers may share a line
// ("# ERROR: A # ERROR: B"); a marker counts once per occurrence, so two
// identical diagnostics on one line need two markers. The line of a
// diagnostic is the start line of its Subject. The test passes when the
// multiset of (file, line, severity, summary) of the diagnostics equals the
// marked one exactly; fixtures under valid/ must in addition have no errors
// (warnings only where marked). Every diagnostic must also have a Detail.
func TestFixtures(t *testing.T) {
	for _, kind := range []string{"valid", "invalid"} {
		paths, err := filepath.Glob(filepath.Join("testdata", "fixtures", kind, "*.txtar"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			name := kind + "/" + strings.TrimSuffix(filepath.Base(path), ".txtar")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runFixture(t, path, kind == "valid")
			})
		}
	}
}

// markerRE finds the start of each marker on a line.
var markerRE = regexp.MustCompile(`(?:#|//)\s*(ERROR|WARNING)(?:@(\+\d+|-\d+|none|[^\s:]+:\d+))?:\s*`)

// expectedDiagnostics extracts the marked diagnostics of one archive file.
func expectedDiagnostics(t *testing.T, file string, data []byte) []string {
	t.Helper()
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		matches := markerRE.FindAllStringSubmatchIndex(line, -1)
		for j, m := range matches {
			end := len(line)
			if j+1 < len(matches) {
				end = matches[j+1][0]
			}
			summary := strings.TrimSpace(line[m[1]:end])
			severity := line[m[2]:m[3]]
			where := fmt.Sprintf("%s:%d", file, i+1)
			if m[4] >= 0 {
				switch at := line[m[4]:m[5]]; {
				case at == "none":
					where = "-"
				case at[0] == '+' || at[0] == '-':
					n, _ := strconv.Atoi(at)
					where = fmt.Sprintf("%s:%d", file, i+1+n)
				default:
					where = at
				}
			}
			out = append(out, fmt.Sprintf("%s: %s: %s", where, severity, summary))
		}
	}
	return out
}

// runFixture loads one fixture and compares its diagnostics.
func runFixture(t *testing.T, path string, valid bool) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var want []string
	opts := LoadOptions{AllowUnsetVariables: true}
	for _, f := range ar.Files {
		if f.Name == "args" {
			parseFixtureArgs(t, dir, string(f.Data), &opts)
			continue
		}
		full := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, expectedDiagnostics(t, f.Name, f.Data)...)
	}

	loaded, diags := Load(dir, opts)
	if loaded == nil || loaded.Config == nil {
		t.Fatal("Load returned a nil result")
	}
	var got []string
	for _, d := range diags {
		got = append(got, diagKey(dir, d))
		if d.Detail == "" {
			t.Errorf("diagnostic %q has no detail", d.Summary)
		}
		if d.Subject != nil && d.Subject.End.Byte < d.Subject.Start.Byte {
			t.Errorf("diagnostic %q has an inverted range %v", d.Summary, d.Subject)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s\nall diagnostics:\n%s", diff, renderDiags(dir, diags))
	}
	if valid && diags.HasErrors() {
		t.Errorf("valid fixture has errors")
	}
}

// parseFixtureArgs applies the lines of an args file to opts.
func parseFixtureArgs(t *testing.T, dir, text string, opts *LoadOptions) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		flag, value, _ := strings.Cut(line, " ")
		switch flag {
		case "--var":
			opts.Vars = append(opts.Vars, value)
		case "--var-file":
			opts.VarFiles = append(opts.VarFiles, filepath.Join(dir, filepath.FromSlash(value)))
		case "--env":
			opts.Environ = append(opts.Environ, value)
		case "--strict":
			opts.AllowUnsetVariables = false
		default:
			t.Fatalf("args: unknown option %q", line)
		}
	}
}

// diagKey renders a diagnostic as "FILE:LINE: SEVERITY: SUMMARY" with FILE
// relative to dir.
func diagKey(dir string, d *hcl.Diagnostic) string {
	sev := "ERROR"
	if d.Severity == hcl.DiagWarning {
		sev = "WARNING"
	}
	where := "-"
	if d.Subject != nil {
		name := d.Subject.Filename
		if rel, err := filepath.Rel(dir, name); err == nil {
			name = filepath.ToSlash(rel)
		}
		where = fmt.Sprintf("%s:%d", name, d.Subject.Start.Line)
	}
	return fmt.Sprintf("%s: %s: %s", where, sev, d.Summary)
}

// renderDiags renders diagnostics with their details for failure messages.
func renderDiags(dir string, diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s\n      %s\n", diagKey(dir, d), d.Detail)
	}
	return b.String()
}

func TestMarkerGrammar(t *testing.T) {
	src := "a = 1 # ERROR: Unsupported argument\n" +
		"b = 2 // WARNING: Unused model # ERROR: Invalid name\n" +
		"# ERROR@+1: Invalid model schema\n" +
		"c\n" +
		"d # ERROR@-3: Value out of range\n" +
		"# ERROR@schema.json:4: Invalid model schema\n" +
		"# ERROR@none: Invalid --var option\n" +
		"plain # comment without marker\n"
	want := []string{
		"f.wsgw.hcl:1: ERROR: Unsupported argument",
		"f.wsgw.hcl:2: WARNING: Unused model",
		"f.wsgw.hcl:2: ERROR: Invalid name",
		"f.wsgw.hcl:4: ERROR: Invalid model schema",
		"f.wsgw.hcl:2: ERROR: Value out of range",
		"schema.json:4: ERROR: Invalid model schema",
		"-: ERROR: Invalid --var option",
	}
	if diff := cmp.Diff(want, expectedDiagnostics(t, "f.wsgw.hcl", []byte(src))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
