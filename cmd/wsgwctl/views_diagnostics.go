package main

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/fatih/color"
	"github.com/hashicorp/hcl/v2"
	"github.com/mitchellh/go-wordwrap"
)

// detailWidth is the column at which diagnostic details are wrapped.
const detailWidth = 78

// maxSnippetLines is the number of source lines a text diagnostic shows in
// full; longer snippets show their first and last lines around an ellipsis.
const maxSnippetLines = 8

// diagnosticsView renders hcl.Diagnostics for people, in the layout
// Terraform users know:
//
//	Error: Unsupported argument
//
//	  on main.wsgw.hcl line 3, in api "chat":
//	     3:   colour = "red"
//	          ^^^^^^
//
//	An argument named "colour" is not expected here.
//
// Without colour the subject is marked by a line of carets under it (D-7);
// with colour it is underlined in place.
type diagnosticsView struct {
	w     io.Writer
	files map[string]*hcl.File
	color bool
}

// newDiagnosticsView returns a view writing to w, taking source text from
// files (keyed by the diagnostics' file names) and using colour when
// colorOn is set.
func newDiagnosticsView(w io.Writer, files map[string]*hcl.File, colorOn bool) *diagnosticsView {
	return &diagnosticsView{w: w, files: files, color: colorOn}
}

// style returns a colour style that is on exactly when the view's colour is.
func (v *diagnosticsView) style(attrs ...color.Attribute) *color.Color {
	return styled(v.color, attrs...)
}

// styled returns a fatih/color style that is on or off as on says, for this
// value only, whatever the package-level colour settings are.
func styled(on bool, attrs ...color.Attribute) *color.Color {
	c := color.New(attrs...)
	if on {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c
}

// writeValidateSuccess writes validate's success line (CLI-1, D-7) to w, in
// bold green when colorOn is set; withWarnings selects the wording used
// after warnings have been shown.
func writeValidateSuccess(w io.Writer, colorOn, withWarnings bool) {
	msg := "Success! The configuration is valid."
	if withWarnings {
		msg = "Success! The configuration is valid, but there were some validation warnings as shown above."
	}
	fmt.Fprintln(w, styled(colorOn, color.FgGreen, color.Bold).Sprint(msg))
}

// Write renders every diagnostic, each followed by a blank line.
func (v *diagnosticsView) Write(diags hcl.Diagnostics) {
	for _, d := range diags {
		v.writeOne(d)
	}
}

// writeOne renders one diagnostic: header, location and snippet, detail.
func (v *diagnosticsView) writeOne(d *hcl.Diagnostic) {
	var b strings.Builder
	label := v.style(color.FgRed, color.Bold).Sprint("Error:")
	if d.Severity == hcl.DiagWarning {
		label = v.style(color.FgYellow, color.Bold).Sprint("Warning:")
	}
	fmt.Fprintf(&b, "%s %s\n\n", label, v.style(color.Bold).Sprint(d.Summary))

	if d.Subject != nil {
		s, ok := makeSnippet(d, v.files)
		fmt.Fprintf(&b, "  on %s line %d", d.Subject.Filename, d.Subject.Start.Line)
		if ok && s.context != "" {
			fmt.Fprintf(&b, ", in %s", s.context)
		}
		b.WriteString(":\n")
		if ok {
			v.writeSnippet(&b, s)
		}
		b.WriteString("\n")
	}

	if detail := strings.TrimRight(d.Detail, "\n"); detail != "" {
		b.WriteString(wrapDetail(detail, detailWidth))
		b.WriteString("\n\n")
	}
	io.WriteString(v.w, b.String())
}

// writeSnippet writes the numbered source lines of s and marks the subject:
// a caret line under each line it covers, or an underline when in colour.
func (v *diagnosticsView) writeSnippet(b *strings.Builder, s snippet) {
	lastLine := s.startLine + len(s.lines) - 1
	width := max(4, len(fmt.Sprint(lastLine)))
	underline := v.style(color.Underline, color.Bold)

	show := func(i int) bool {
		if len(s.lines) <= maxSnippetLines {
			return true
		}
		head := maxSnippetLines / 2
		return i < head || i >= len(s.lines)-(maxSnippetLines-head-1)
	}

	off := 0 // offset of line i within the snippet's code
	elided := false
	for i, line := range s.lines {
		lineOff := off
		off += len(line) + 1
		if !show(i) {
			if !elided {
				fmt.Fprintf(b, "%*s\n", width+4, "...")
				elided = true
			}
			continue
		}
		from, to, marked := highlightOnLine(s, line, lineOff)
		prefix := fmt.Sprintf("%*d: ", width, s.startLine+i)
		if v.color {
			if marked && to > from {
				fmt.Fprintf(b, "%s%s%s%s\n", prefix, line[:from], underline.Sprint(line[from:to]), line[to:])
			} else {
				fmt.Fprintf(b, "%s%s\n", prefix, line)
			}
			continue
		}
		fmt.Fprintf(b, "%s%s\n", prefix, line)
		if marked {
			b.WriteString(strings.Repeat(" ", len(prefix)))
			b.WriteString(padLike(line[:from]))
			b.WriteString(strings.Repeat("^", max(1, runeCount(line[from:to]))))
			b.WriteString("\n")
		}
	}
}

// highlightOnLine returns the part [from, to) of line, which starts at
// lineOff in the snippet's code, that the subject covers. On lines after the
// first, leading indentation is not marked. An empty subject marks the single
// position where it is.
func highlightOnLine(s snippet, line string, lineOff int) (from, to int, marked bool) {
	lineEndOff := lineOff + len(line)
	if s.hlStart == s.hlEnd {
		if s.hlStart >= lineOff && s.hlStart <= lineEndOff {
			p := s.hlStart - lineOff
			return p, p, true
		}
		return 0, 0, false
	}
	from = max(s.hlStart, lineOff) - lineOff
	to = min(s.hlEnd, lineEndOff) - lineOff
	if s.hlStart < lineOff {
		for from < to && (line[from] == ' ' || line[from] == '\t') {
			from++
		}
	}
	if from >= to {
		return 0, 0, false
	}
	return from, to, true
}

// padLike returns blanks as wide as s, keeping its tabs so that a marker
// line lines up under the source line.
func padLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// runeCount returns the number of characters in s.
func runeCount(s string) int {
	return len([]rune(s))
}

// wrapDetail wraps each paragraph line of detail at width columns. Lines
// that start with white space (indented examples, lists) are kept as they
// are.
func wrapDetail(detail string, width uint) string {
	lines := strings.Split(detail, "\n")
	for i, l := range lines {
		if l == "" || unicode.IsSpace(rune(l[0])) {
			continue
		}
		lines[i] = wordwrap.WrapString(l, width)
	}
	return strings.Join(lines, "\n")
}
