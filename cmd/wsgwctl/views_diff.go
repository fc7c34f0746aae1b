package main

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/fatih/color"
	"github.com/rogpeppe/go-internal/diff"
)

// writeUnifiedDiff writes a unified diff from old to new of the file named
// name, with the headers `--- old/NAME` and `+++ new/NAME` that terraform fmt
// uses, and three lines of context. In colour, removed lines are red, added
// lines green and hunk headers cyan. It writes nothing when old equals new.
func writeUnifiedDiff(w io.Writer, name string, old, new []byte, colorOn bool) {
	d := diff.Diff("old/"+name, old, "new/"+name, new)
	if d == nil {
		return
	}
	// diff.Diff starts with a `diff OLD NEW` line that unified diffs of
	// single files do not have.
	if i := bytes.IndexByte(d, '\n'); i >= 0 && bytes.HasPrefix(d, []byte("diff ")) {
		d = d[i+1:]
	}
	if !colorOn {
		w.Write(d)
		return
	}
	var (
		header  = styled(true, color.Bold)
		hunk    = styled(true, color.FgCyan)
		removed = styled(true, color.FgRed)
		added   = styled(true, color.FgGreen)
	)
	sc := bufio.NewScanner(bytes.NewReader(d))
	sc.Buffer(nil, len(d)+1)
	var b strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "--- "), strings.HasPrefix(line, "+++ "):
			line = header.Sprint(line)
		case strings.HasPrefix(line, "@@"):
			line = hunk.Sprint(line)
		case strings.HasPrefix(line, "-"):
			line = removed.Sprint(line)
		case strings.HasPrefix(line, "+"):
			line = added.Sprint(line)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}
