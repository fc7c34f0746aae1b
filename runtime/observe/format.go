package observe

import (
	"strings"
	"unicode/utf8"
)

// Lookup returns the value of the context variable name, given without the
// "context." prefix ("requestId", "identity.sourceIp"), and false when the
// variable has no value for the event. integration.Request.ContextValue is
// one.
type Lookup func(name string) (string, bool)

// NoValue is what a variable without a value renders as, as in API Gateway's
// access logs.
const NoValue = "-"

const (
	contextPrefix = "$context."
	// messageStringName is API Gateway's quoted form of error.message.
	messageStringName = "error.messageString"
	messageName       = "error.message"
)

// Format is a compiled access-log format. It is immutable and safe for
// concurrent use.
type Format struct {
	parts []formatPart
	// size is the length of the literal text, a first guess at a line's size.
	size int
}

// formatPart is literal text followed by an optional variable.
type formatPart struct {
	literal string
	// name is the variable after literal without its "context." prefix, or
	// "" when literal ends the format.
	name string
	// quoted is true when the variable sits inside a double-quoted string of
	// the format, where its value is escaped as a JSON string's content.
	quoted bool
}

// CompileFormat compiles an access-log format (RT-32): every `$context.NAME`
// in s, NAME being dot-separated runs of letters, digits and underscores, is a
// variable; everything else is literal text. Any string is a valid format.
func CompileFormat(s string) *Format {
	f := &Format{}
	inString := false
	litStart := 0
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], contextPrefix) {
			if end := scanName(s, i+len(contextPrefix)); end > i+len(contextPrefix) {
				f.parts = append(f.parts, formatPart{
					literal: s[litStart:i],
					name:    s[i+len(contextPrefix) : end],
					quoted:  inString,
				})
				f.size += i - litStart
				i, litStart = end, end
				continue
			}
		}
		switch s[i] {
		case '"':
			inString = !inString
		case '\\':
			if inString {
				i++ // the escaped character neither opens nor closes a string
			}
		}
		i++
	}
	f.parts = append(f.parts, formatPart{literal: s[litStart:]})
	f.size += len(s) - litStart
	return f
}

// scanName returns the end of the variable name that starts at s[i:]: one or
// more runs of name characters joined by single dots. A trailing dot is not
// part of the name.
func scanName(s string, i int) int {
	end := i
	for {
		j := end
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		if j == end {
			return end
		}
		end = j
		if end+1 < len(s) && s[end] == '.' && isNameByte(s[end+1]) {
			end++
			continue
		}
		return end
	}
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Variables returns the names of the format's variables, without their
// "context." prefix, in order of appearance.
func (f *Format) Variables() []string {
	var names []string
	for _, p := range f.parts {
		if p.name != "" {
			names = append(names, p.name)
		}
	}
	return names
}

// Append renders one line (without a newline) to dst with the values lookup
// gives and returns the extended buffer. A variable without a value, or with
// an empty one, renders as NoValue.
func (f *Format) Append(dst []byte, lookup Lookup) []byte {
	for _, p := range f.parts {
		dst = append(dst, p.literal...)
		if p.name == "" {
			continue
		}
		v, ok := lookup(p.name)
		if !ok && p.name == messageStringName {
			dst = appendMessageString(dst, lookup, p.quoted)
			continue
		}
		if !ok || v == "" {
			v = NoValue
		}
		dst = appendValue(dst, v, p.quoted)
	}
	return dst
}

// appendMessageString renders $context.error.messageString when the lookup
// does not know it: error.message as a quoted JSON string.
func appendMessageString(dst []byte, lookup Lookup, quoted bool) []byte {
	v, ok := lookup(messageName)
	if !ok || v == "" {
		v = NoValue
	}
	if quoted {
		// Inside a string of the format the quotes themselves are content.
		dst = append(dst, '\\', '"')
		dst = appendValue(dst, v, true)
		return append(dst, '\\', '"')
	}
	dst = append(dst, '"')
	dst = appendValue(dst, v, true)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendValue appends v, escaped as the content of a JSON string when quoted
// and with only its control characters escaped otherwise, so that a line
// always stays one line. Invalid UTF-8 is replaced by U+FFFD.
func appendValue(dst []byte, v string, quoted bool) []byte {
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, v[start:i]...)
				dst = append(dst, "\ufffd"...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != 0x7f && (!quoted || c != '"' && c != '\\') {
			i++
			continue
		}
		dst = append(dst, v[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(dst, v[start:]...)
}
