package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// parsed returns the file map a view needs for one source file.
func parsed(t *testing.T, name, src string) map[string]*hcl.File {
	t.Helper()
	f, _ := hclsyntax.ParseConfig([]byte(src), name, hcl.InitialPos)
	if f == nil {
		f = &hcl.File{Bytes: []byte(src)}
	}
	return map[string]*hcl.File{name: f}
}

// pos returns the hcl.Pos of byte offset off in src.
func pos(src string, off int) hcl.Pos {
	before := src[:off]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return hcl.Pos{Line: line, Column: col, Byte: off}
}

// span returns the range of the first occurrence of sub in src (after
// skipping `skip` bytes).
func span(t *testing.T, name, src, sub string, skip int) *hcl.Range {
	t.Helper()
	i := strings.Index(src[skip:], sub)
	if i < 0 {
		t.Fatalf("%q not in source", sub)
	}
	i += skip
	return &hcl.Range{Filename: name, Start: pos(src, i), End: pos(src, i+len(sub))}
}

const chatSrc = `api "chat" {
  colour = "red"
  route "$default" {
    integration = integration.missing.thing
  }
}
`

func TestDiagnosticsViewText(t *testing.T) {
	const name = "chat.wsgw.hcl"
	files := parsed(t, name, chatSrc)
	tabSrc := "api \"chat\" {\n\tcolour = \"red\"\n}\n"
	multiSrc := "locals {\n  a = [\n    1,\n    2,\n  ]\n}\n"
	tests := []struct {
		name  string
		files map[string]*hcl.File
		diag  *hcl.Diagnostic
		want  string
	}{
		{
			name:  "error with subject",
			files: files,
			diag: &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail:   `An argument named "colour" is not expected here.`,
				Subject:  span(t, name, chatSrc, "colour", 0),
			},
			want: "Error: Unsupported argument\n\n" +
				"  on chat.wsgw.hcl line 2, in api \"chat\":\n" +
				"   2:   colour = \"red\"\n" +
				"        ^^^^^^\n\n" +
				"An argument named \"colour\" is not expected here.\n\n",
		},
		{
			name:  "warning whose subject is a traversal",
			files: files,
			diag: &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Reference to undeclared integration",
				Subject:  span(t, name, chatSrc, "integration.missing.thing", 0),
			},
			want: "Warning: Reference to undeclared integration\n\n" +
				"  on chat.wsgw.hcl line 4, in api \"chat\":\n" +
				"   4:     integration = integration.missing.thing\n" +
				"                        ^^^^^^^^^^^^^^^^^^^^^^^^^\n\n",
		},
		{
			name: "no subject",
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files", Detail: "The directory has no *.wsgw.hcl files."},
			want: "Error: No configuration files\n\nThe directory has no *.wsgw.hcl files.\n\n",
		},
		{
			name: "source not available",
			diag: &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Bad thing",
				Subject:  &hcl.Range{Filename: "gone.wsgw.hcl", Start: hcl.Pos{Line: 3, Column: 1}, End: hcl.Pos{Line: 3, Column: 2, Byte: 1}},
			},
			want: "Error: Bad thing\n\n  on gone.wsgw.hcl line 3:\n\n",
		},
		{
			name:  "tab indentation is kept under the marker",
			files: parsed(t, "tab.wsgw.hcl", tabSrc),
			diag:  &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S", Subject: span(t, "tab.wsgw.hcl", tabSrc, `"red"`, 0)},
			want: "Error: S\n\n" +
				"  on tab.wsgw.hcl line 2, in api \"chat\":\n" +
				"   2: \tcolour = \"red\"\n" +
				"      \t         ^^^^^\n\n",
		},
		{
			name:  "multi-line subject marks each line without its indentation",
			files: parsed(t, "m.wsgw.hcl", multiSrc),
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S",
				Subject: &hcl.Range{Filename: "m.wsgw.hcl", Start: pos(multiSrc, strings.Index(multiSrc, "[")), End: pos(multiSrc, strings.Index(multiSrc, "]")+1)}},
			want: "Error: S\n\n" +
				"  on m.wsgw.hcl line 2, in locals:\n" +
				"   2:   a = [\n" +
				"            ^\n" +
				"   3:     1,\n" +
				"          ^^\n" +
				"   4:     2,\n" +
				"          ^^\n" +
				"   5:   ]\n" +
				"        ^\n\n",
		},
		{
			name:  "empty subject at the end of a line",
			files: parsed(t, "e.wsgw.hcl", "a = \n"),
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S",
				Subject: &hcl.Range{Filename: "e.wsgw.hcl", Start: pos("a = \n", 4), End: pos("a = \n", 4)}},
			want: "Error: S\n\n" +
				"  on e.wsgw.hcl line 1:\n" +
				"   1: a = \n" +
				"          ^\n\n",
		},
		{
			name: "long detail is wrapped, indented lines are kept",
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S",
				Detail: strings.Repeat("word ", 20) + "end.\n    keep   this   indented line as it is, however long it happens to be, really\nlast"},
			want: "Error: S\n\n" +
				strings.TrimSpace(strings.Repeat("word ", 15)) + "\n" +
				strings.Repeat("word ", 5) + "end.\n" +
				"    keep   this   indented line as it is, however long it happens to be, really\n" +
				"last\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			newDiagnosticsView(&b, tt.files, false).Write(hcl.Diagnostics{tt.diag})
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiagnosticsViewLongSnippetIsElided(t *testing.T) {
	src := "a = [\n" + strings.Repeat("  1,\n", 20) + "]\n"
	files := parsed(t, "l.wsgw.hcl", src)
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S",
		Subject: &hcl.Range{Filename: "l.wsgw.hcl", Start: pos(src, 4), End: pos(src, len(src)-1)}}
	var b bytes.Buffer
	newDiagnosticsView(&b, files, false).Write(hcl.Diagnostics{d})
	out := b.String()
	for _, want := range []string{"   1: a = [\n", "   4:   1,\n", "     ...\n", "  20:   1,\n", "  22: ]\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "   5:") || strings.Contains(out, "  19:") {
		t.Errorf("output shows lines that should be elided:\n%s", out)
	}
}

func TestDiagnosticsViewColour(t *testing.T) {
	const name = "chat.wsgw.hcl"
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument", Subject: span(t, name, chatSrc, "colour", 0)}
	var b bytes.Buffer
	newDiagnosticsView(&b, parsed(t, name, chatSrc), true).Write(hcl.Diagnostics{d})
	out := b.String()
	if !strings.Contains(out, "\x1b[31;1mError:") {
		t.Errorf("error label is not red and bold:\n%q", out)
	}
	if !strings.Contains(out, "\x1b[4;1mcolour\x1b[") {
		t.Errorf("subject is not underlined:\n%q", out)
	}
	if strings.Contains(out, "^") {
		t.Errorf("colour output has a caret line:\n%q", out)
	}

	b.Reset()
	newDiagnosticsView(&b, parsed(t, name, chatSrc), false).Write(hcl.Diagnostics{d})
	if strings.Contains(b.String(), "\x1b[") {
		t.Errorf("output without colour has escape sequences:\n%q", b.String())
	}
}

func TestValidateJSON(t *testing.T) {
	const name = "chat.wsgw.hcl"
	files := parsed(t, name, chatSrc)
	ref := span(t, name, chatSrc, "integration.missing.thing", 0)
	routeHeader := span(t, name, chatSrc, `route "$default" {`, 0)
	body := chatSrc[strings.Index(chatSrc, "  route"):]
	blockRange := &hcl.Range{Filename: name,
		Start: pos(chatSrc, strings.Index(chatSrc, "route")),
		End:   pos(chatSrc, strings.Index(chatSrc, "route")+strings.Index(body, "  }")+1)}
	eof := &hcl.Range{Filename: name, Start: pos(chatSrc, len(chatSrc)), End: pos(chatSrc, len(chatSrc))}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Reference to undeclared integration", Detail: `No integration "missing".`, Subject: ref},
		{Severity: hcl.DiagWarning, Summary: "Unused", Subject: routeHeader, Context: blockRange},
		{Severity: hcl.DiagError, Summary: "No subject", Detail: "d"},
		{Severity: hcl.DiagError, Summary: "At end", Subject: eof},
	}
	var b bytes.Buffer
	if err := writeValidateJSON(&b, diags, files); err != nil {
		t.Fatal(err)
	}
	want := `{
  "format_version": "1.0",
  "valid": false,
  "error_count": 3,
  "warning_count": 1,
  "diagnostics": [
    {
      "severity": "error",
      "summary": "Reference to undeclared integration",
      "detail": "No integration \"missing\".",
      "range": {
        "filename": "chat.wsgw.hcl",
        "start": {
          "line": 4,
          "column": 19,
          "byte": 69
        },
        "end": {
          "line": 4,
          "column": 44,
          "byte": 94
        }
      },
      "snippet": {
        "context": "api \"chat\"",
        "code": "    integration = integration.missing.thing",
        "start_line": 4,
        "highlight_start_offset": 18,
        "highlight_end_offset": 43,
        "values": []
      }
    },
    {
      "severity": "warning",
      "summary": "Unused",
      "detail": "",
      "range": {
        "filename": "chat.wsgw.hcl",
        "start": {
          "line": 3,
          "column": 3,
          "byte": 32
        },
        "end": {
          "line": 3,
          "column": 21,
          "byte": 50
        }
      },
      "snippet": {
        "context": "api \"chat\"",
        "code": "  route \"$default\" {\n    integration = integration.missing.thing\n  }",
        "start_line": 3,
        "highlight_start_offset": 2,
        "highlight_end_offset": 20,
        "values": []
      }
    },
    {
      "severity": "error",
      "summary": "No subject",
      "detail": "d"
    },
    {
      "severity": "error",
      "summary": "At end",
      "detail": "",
      "range": {
        "filename": "chat.wsgw.hcl",
        "start": {
          "line": 7,
          "column": 1,
          "byte": 101
        },
        "end": {
          "line": 7,
          "column": 1,
          "byte": 101
        }
      },
      "snippet": {
        "context": null,
        "code": "",
        "start_line": 7,
        "highlight_start_offset": 0,
        "highlight_end_offset": 0,
        "values": []
      }
    }
  ]
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}

	b.Reset()
	if err := writeValidateJSON(&b, nil, nil); err != nil {
		t.Fatal(err)
	}
	clean := "{\n  \"format_version\": \"1.0\",\n  \"valid\": true,\n  \"error_count\": 0,\n  \"warning_count\": 0,\n  \"diagnostics\": []\n}\n"
	if diff := cmp.Diff(clean, b.String()); diff != "" {
		t.Errorf("clean JSON mismatch (-want +got):\n%s", diff)
	}
}

func TestSnippetCRLF(t *testing.T) {
	src := "a = 1\r\nbb = oops\r\n"
	files := map[string]*hcl.File{"c.hcl": {Bytes: []byte(src)}}
	d := &hcl.Diagnostic{Subject: span(t, "c.hcl", src, "oops", 0)}
	s, ok := makeSnippet(d, files)
	if !ok {
		t.Fatal("no snippet")
	}
	if got := s.code(); got != "bb = oops" {
		t.Errorf("code = %q, want %q", got, "bb = oops")
	}
	if s.startLine != 2 || s.code()[s.hlStart:s.hlEnd] != "oops" {
		t.Errorf("start line %d, highlight %q", s.startLine, s.code()[s.hlStart:s.hlEnd])
	}
}

func TestGitHubAnnotations(t *testing.T) {
	r := func(l1, c1, b1, l2, c2, b2 int) *hcl.Range {
		return &hcl.Range{Filename: "dir/chat.wsgw.hcl", Start: hcl.Pos{Line: l1, Column: c1, Byte: b1}, End: hcl.Pos{Line: l2, Column: c2, Byte: b2}}
	}
	tests := []struct {
		name string
		diag *hcl.Diagnostic
		want string
	}{
		{
			name: "single-line error",
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument", Detail: "Not expected here.", Subject: r(2, 3, 15, 2, 9, 21)},
			want: "::error file=dir/chat.wsgw.hcl,line=2,col=3,endLine=2,endColumn=8,title=Unsupported argument::Not expected here.\n",
		},
		{
			name: "multi-line warning",
			diag: &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unused integration", Detail: "Never used.", Subject: r(3, 3, 20, 6, 4, 80)},
			want: "::warning file=dir/chat.wsgw.hcl,line=3,endLine=6,title=Unused integration::Never used.\n",
		},
		{
			name: "empty range",
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S", Detail: "D", Subject: r(1, 5, 4, 1, 5, 4)},
			want: "::error file=dir/chat.wsgw.hcl,line=1,col=5,endLine=1,endColumn=5,title=S::D\n",
		},
		{
			name: "no subject, no detail",
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files"},
			want: "::error title=No configuration files::No configuration files\n",
		},
		{
			name: "escaping",
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "a: b, 100%", Detail: "line one\r\nline two 50%: x, y"},
			want: "::error title=a%3A b%2C 100%25::line one%0D%0Aline two 50%25: x, y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeGitHubAnnotations(&b, hcl.Diagnostics{tt.diag})
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{name: "equal", old: "a = 1\n", new: "a = 1\n", want: ""},
		{
			name: "change with context",
			old:  "a=1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng=7\n",
			new:  "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\n",
			want: "--- old/x.hcl\n+++ new/x.hcl\n@@ -1,7 +1,7 @@\n-a=1\n+a = 1\n b = 2\n c = 3\n d = 4\n e = 5\n f = 6\n-g=7\n+g = 7\n",
		},
		{
			name: "separate hunks",
			old:  "a=1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\ni=9\n",
			new:  "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\ni = 9\n",
			want: "--- old/x.hcl\n+++ new/x.hcl\n@@ -1,4 +1,4 @@\n-a=1\n+a = 1\n b = 2\n c = 3\n d = 4\n@@ -6,4 +6,4 @@\n f = 6\n g = 7\n h = 8\n-i=9\n+i = 9\n",
		},
		{
			name: "no newline at end of file",
			old:  "a=1",
			new:  "a = 1",
			want: "--- old/x.hcl\n+++ new/x.hcl\n@@ -1,1 +1,1 @@\n-a=1\n\\ No newline at end of file\n+a = 1\n\\ No newline at end of file\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeUnifiedDiff(&b, "x.hcl", []byte(tt.old), []byte(tt.new), false)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}

	var b bytes.Buffer
	writeUnifiedDiff(&b, "x.hcl", []byte("a=1\n"), []byte("a = 1\n"), true)
	if !strings.Contains(b.String(), "\x1b[31m-a=1\x1b[0m") || !strings.Contains(b.String(), "\x1b[32m+a = 1\x1b[0m") {
		t.Errorf("coloured diff lacks red/green lines: %q", b.String())
	}
}

// TestRenderersAcceptEveryRange renders a diagnostic for every range over a
// small file with CRLF line endings, tabs and multi-byte characters, in every
// format, to show that no subject can make a renderer panic or mark text
// outside the snippet.
func TestRenderersAcceptEveryRange(t *testing.T) {
	src := "api \"é\" {\r\n\tx = \"ü\"\n\n}"
	files := map[string]*hcl.File{"f.hcl": {Bytes: []byte(src)}}
	for start := 0; start <= len(src); start++ {
		for end := start; end <= len(src); end++ {
			d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S", Detail: "D",
				Subject: &hcl.Range{Filename: "f.hcl", Start: hcl.Pos{Line: 1, Column: 1, Byte: start}, End: hcl.Pos{Line: 1, Column: 1, Byte: end}}}
			s, ok := makeSnippet(d, files)
			if !ok {
				t.Fatalf("no snippet for %d-%d", start, end)
			}
			if code := s.code(); s.hlStart < 0 || s.hlStart > s.hlEnd || s.hlEnd > len(code) {
				t.Fatalf("range %d-%d: highlight %d-%d outside code %q", start, end, s.hlStart, s.hlEnd, code)
			}
			var b bytes.Buffer
			newDiagnosticsView(&b, files, false).Write(hcl.Diagnostics{d})
			newDiagnosticsView(&b, files, true).Write(hcl.Diagnostics{d})
			if err := writeValidateJSON(&b, hcl.Diagnostics{d}, files); err != nil {
				t.Fatal(err)
			}
			writeGitHubAnnotations(&b, hcl.Diagnostics{d})
		}
	}
}
