package main

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
)

// snippet is the source text a diagnostic points at: the whole lines that
// cover its subject (and its context range, when it has one in the same
// file), with the subject located inside them. The text and JSON views both
// render from it.
type snippet struct {
	// context is the header of the top-level block that encloses the
	// subject, such as `api "chat"`, or "" when there is none.
	context string
	// lines are the source lines, without line terminators.
	lines []string
	// startLine is the 1-based line number of lines[0].
	startLine int
	// hlStart and hlEnd are the byte offsets of the subject within the
	// lines joined by "\n". They are equal for an empty subject.
	hlStart, hlEnd int
}

// code returns the snippet's lines joined by "\n".
func (s snippet) code() string {
	var b bytes.Buffer
	for i, l := range s.lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

// makeSnippet returns the snippet of d when d has a subject whose file is in
// files and whose range lies within that file's text. Both CRLF and LF line
// endings are understood; the carriage returns are not part of the lines.
func makeSnippet(d *hcl.Diagnostic, files map[string]*hcl.File) (snippet, bool) {
	if d.Subject == nil {
		return snippet{}, false
	}
	subj := *d.Subject
	f := files[subj.Filename]
	if f == nil {
		return snippet{}, false
	}
	src := f.Bytes
	if !validRange(subj, src) {
		return snippet{}, false
	}
	outer := subj
	if d.Context != nil && d.Context.Filename == subj.Filename && validRange(*d.Context, src) {
		outer = hcl.RangeOver(*d.Context, subj)
	}

	first := lineStart(src, outer.Start.Byte)
	lastByte := outer.End.Byte
	if lastByte > outer.Start.Byte {
		lastByte-- // End is exclusive: the last covered byte decides the last line.
	}
	last := lineEnd(src, lastByte)

	s := snippet{startLine: bytes.Count(src[:first], []byte("\n")) + 1}
	codeOff := 0
	s.hlStart, s.hlEnd = -1, -1
	for ls := first; ; {
		le := lineEnd(src, ls)
		text := src[ls:le]
		text = bytes.TrimSuffix(text, []byte("\r"))
		// Map the subject's bytes onto this line's position in the code.
		if s.hlStart < 0 && subj.Start.Byte <= le {
			s.hlStart = codeOff + min(max(subj.Start.Byte-ls, 0), len(text))
		}
		if s.hlEnd < 0 && subj.End.Byte <= le {
			s.hlEnd = codeOff + min(max(subj.End.Byte-ls, 0), len(text))
		}
		s.lines = append(s.lines, string(text))
		codeOff += len(text) + 1
		if le >= last || le >= len(src) {
			break
		}
		ls = le + 1
	}
	codeLen := codeOff - 1
	if s.hlStart < 0 {
		s.hlStart = codeLen
	}
	if s.hlEnd < 0 {
		s.hlEnd = codeLen
	}
	if s.hlEnd < s.hlStart {
		s.hlEnd = s.hlStart
	}
	if nav, ok := f.Nav.(interface{ ContextString(offset int) string }); ok {
		s.context = nav.ContextString(subj.Start.Byte)
	}
	return s, true
}

// validRange reports whether r lies within src.
func validRange(r hcl.Range, src []byte) bool {
	return r.Start.Byte >= 0 && r.Start.Byte <= r.End.Byte && r.End.Byte <= len(src)
}

// lineStart returns the offset of the first byte of the line holding offset.
func lineStart(src []byte, offset int) int {
	return bytes.LastIndexByte(src[:offset], '\n') + 1
}

// lineEnd returns the offset of the newline ending the line holding offset,
// or len(src) on the last line.
func lineEnd(src []byte, offset int) int {
	if i := bytes.IndexByte(src[offset:], '\n'); i >= 0 {
		return offset + i
	}
	return len(src)
}
