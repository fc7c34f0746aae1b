package integration

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// jsonDoc is a message or a reply seen as JSON by templates: request.body
// and integration.response.body. It is validated at most once, on the first
// lookup, and paths are then resolved on the raw bytes without decoding.
type jsonDoc struct {
	raw   []byte
	state docState
}

type docState uint8

const (
	docUnchecked docState = iota
	docValid
	docInvalid
)

// valid reports whether the document is exactly one well-formed JSON value
// (encoding/json.Valid's rule).
func (d *jsonDoc) valid() bool {
	if d.state == docUnchecked {
		d.state = docInvalid
		if len(d.raw) > 0 && json.Valid(d.raw) {
			d.state = docValid
		}
	}
	return d.state == docValid
}

// lookup returns the raw JSON text of the value at path, or ok false when
// the document is not JSON or the path does not exist in it. Names match
// object members exactly (after unescaping); the first member of a name
// wins when an object repeats it.
func (d *jsonDoc) lookup(path []model.PathStep) (value []byte, ok bool) {
	if !d.valid() {
		return nil, false
	}
	b := d.raw
	i := skipSpace(b, 0)
	for _, s := range path {
		switch b[i] {
		case '{':
			if s.IsIndex {
				return nil, false
			}
			i = skipSpace(b, i+1)
			found := false
			for b[i] != '}' {
				end := stringEnd(b, i)
				key := b[i+1 : end-1]
				i = skipSpace(b, skipSpace(b, end)+1) // past ':'
				if keyEqual(key, s.Name) {
					found = true
					break
				}
				i = skipSpace(b, valueEnd(b, i))
				if b[i] == ',' {
					i = skipSpace(b, i+1)
				}
			}
			if !found {
				return nil, false
			}
		case '[':
			if !s.IsIndex {
				return nil, false
			}
			i = skipSpace(b, i+1)
			for n := 0; ; n++ {
				if b[i] == ']' {
					return nil, false
				}
				if n == s.Index {
					break
				}
				i = skipSpace(b, valueEnd(b, i))
				if b[i] == ',' {
					i = skipSpace(b, i+1)
				}
			}
		default:
			return nil, false
		}
	}
	return b[i:valueEnd(b, i)], true
}

// keyEqual reports whether the raw content of a valid JSON string equals
// name once unescaped.
func keyEqual(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	var small [64]byte
	return string(appendUnescaped(small[:0], raw)) == name
}

// valueEnd returns the offset after the valid JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	// A number, true, false or null.
	for i < len(b) && isScalarByte(b[i]) {
		i++
	}
	return i
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '+' || c == '-'
}

// appendValueText appends the text form of the valid JSON value v that a
// template writes when no function is applied: a string unquoted and
// unescaped, a number or boolean as written, null as nothing, and an object
// or array as compact JSON.
func appendValueText(dst, v []byte) []byte {
	switch v[0] {
	case '"':
		return appendUnescaped(dst, v[1:len(v)-1])
	case 'n':
		return dst
	case '{', '[':
		return appendCompact(dst, v)
	}
	return append(dst, v...)
}

// appendCompact appends the valid JSON value v without insignificant white
// space; member order, number spelling and string escapes stay as written.
func appendCompact(dst, v []byte) []byte {
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			i = stringEnd(v, i) - 1
		case ' ', '\t', '\n', '\r':
			dst = append(dst, v[start:i]...)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// appendUnescaped appends the decoded content of a valid JSON string
// (without its quotes). Escaped lone surrogates become U+FFFD, as
// encoding/json decodes them.
func appendUnescaped(dst, s []byte) []byte {
	for {
		j := bytes.IndexByte(s, '\\')
		if j < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:j]...)
		s = s[j+1:]
		switch s[0] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[1:5])
			s = s[4:]
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if len(s) >= 7 && s[1] == '\\' && s[2] == 'u' {
					r2 = utf16.DecodeRune(r, hex4(s[3:7]))
				}
				if r2 != utf8.RuneError {
					s = s[6:]
				}
				r = r2
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, s[0])
		}
		s = s[1:]
	}
}
