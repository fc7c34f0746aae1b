package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// validateJSON is the document `validate --format json` prints: the shape of
// `terraform validate -json` (format version 1.0), so that editors and CI
// tools that read Terraform's output read this too (D-8).
type validateJSON struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []diagnosticJSON `json:"diagnostics"`
}

// diagnosticJSON is one diagnostic in Terraform's JSON diagnostic format.
// Range and Snippet are absent for a diagnostic without a subject; Snippet is
// also absent when the source text is not at hand.
type diagnosticJSON struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *rangeJSON   `json:"range,omitempty"`
	Snippet  *snippetJSON `json:"snippet,omitempty"`
}

// rangeJSON is a source range: file name and start and end positions.
type rangeJSON struct {
	Filename string  `json:"filename"`
	Start    posJSON `json:"start"`
	End      posJSON `json:"end"`
}

// posJSON is a position: 1-based line and column (in characters), 0-based byte offset.
type posJSON struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// snippetJSON is the source around a diagnostic: Code holds the whole lines
// that cover the range, StartLine is the number of the first of them, and the
// highlight offsets are byte offsets into Code. Context is the header of the
// enclosing top-level block (e.g. `api "chat"`) or null.
type snippetJSON struct {
	Context              *string          `json:"context"`
	Code                 string           `json:"code"`
	StartLine            int              `json:"start_line"`
	HighlightStartOffset int              `json:"highlight_start_offset"`
	HighlightEndOffset   int              `json:"highlight_end_offset"`
	Values               []expressionJSON `json:"values"`
}

// expressionJSON is a value an expression in the snippet had. wsgwctl's
// diagnostics carry none today, so Values is always an empty array.
type expressionJSON struct {
	Traversal string `json:"traversal"`
	Statement string `json:"statement"`
}

// newValidateJSON builds the validate document for diags.
func newValidateJSON(diags hcl.Diagnostics, files map[string]*hcl.File) validateJSON {
	out := validateJSON{FormatVersion: "1.0", Diagnostics: []diagnosticJSON{}}
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			out.WarningCount++
		} else {
			out.ErrorCount++
		}
		out.Diagnostics = append(out.Diagnostics, newDiagnosticJSON(d, files))
	}
	out.Valid = out.ErrorCount == 0
	return out
}

// newDiagnosticJSON converts one diagnostic, with its snippet when the source
// is in files.
func newDiagnosticJSON(d *hcl.Diagnostic, files map[string]*hcl.File) diagnosticJSON {
	j := diagnosticJSON{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		j.Severity = "warning"
	}
	if d.Subject == nil {
		return j
	}
	r := *d.Subject
	j.Range = &rangeJSON{
		Filename: r.Filename,
		Start:    posJSON{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      posJSON{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
	s, ok := makeSnippet(d, files)
	if !ok {
		return j
	}
	code := s.code()
	// As Terraform does, an empty subject highlights the one byte after it
	// (when there is one), so that consumers always have something to mark.
	end := s.hlEnd
	if end == s.hlStart {
		end = min(end+1, len(code))
	}
	j.Snippet = &snippetJSON{
		Code:                 code,
		StartLine:            s.startLine,
		HighlightStartOffset: s.hlStart,
		HighlightEndOffset:   end,
		Values:               []expressionJSON{},
	}
	if s.context != "" {
		ctx := s.context
		j.Snippet.Context = &ctx
	}
	return j
}

// writeValidateJSON writes the validate document for diags to w, indented,
// with a final newline.
func writeValidateJSON(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(newValidateJSON(diags, files)); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// writeGitHubAnnotations writes one GitHub Actions workflow command per
// diagnostic (D-8):
//
//	::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=SUMMARY::DETAIL
//
// `::warning` is used for warnings. col and endColumn are written only when
// the range is on one line; endColumn is the column of the last character in
// the range (inclusive), so a one-character range has col == endColumn. A
// diagnostic without a detail uses its summary as the message.
func writeGitHubAnnotations(w io.Writer, diags hcl.Diagnostics) {
	for _, d := range diags {
		kind := "error"
		if d.Severity == hcl.DiagWarning {
			kind = "warning"
		}
		var props []string
		if r := d.Subject; r != nil {
			endLine, endCol := r.End.Line, r.End.Column-1
			if r.End.Byte <= r.Start.Byte {
				endLine, endCol = r.Start.Line, r.Start.Column
			} else if endCol < 1 {
				// The range ends at the start of a line: its last character is
				// the previous line's newline.
				endLine, endCol = r.End.Line-1, 0
			}
			props = append(props,
				"file="+escapeGitHubProperty(r.Filename),
				fmt.Sprintf("line=%d", r.Start.Line))
			if endLine == r.Start.Line && endCol >= r.Start.Column {
				props = append(props,
					fmt.Sprintf("col=%d", r.Start.Column),
					fmt.Sprintf("endLine=%d", endLine),
					fmt.Sprintf("endColumn=%d", endCol))
			} else {
				props = append(props, fmt.Sprintf("endLine=%d", max(endLine, r.Start.Line)))
			}
		}
		props = append(props, "title="+escapeGitHubProperty(d.Summary))
		msg := d.Detail
		if msg == "" {
			msg = d.Summary
		}
		fmt.Fprintf(w, "::%s %s::%s\n", kind, strings.Join(props, ","), escapeGitHubData(msg))
	}
}

// escapeGitHubData escapes a workflow command's message: %, CR and LF.
func escapeGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeGitHubProperty escapes a workflow command's property value: as a
// message, plus the `:` and `,` that delimit properties.
func escapeGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
