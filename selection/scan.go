package selection

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is the deepest nesting of arrays and objects a message may have.
// It is encoding/json's limit, so that a message is evaluable exactly when
// encoding/json.Valid accepts it.
const maxDepth = 10000

// span is the location msg[start:end] of a value; end == 0 means not found.
type span struct{ start, end int }

// walker validates a message and records the span of every variable's value
// in the same pass. Variables are tracked as bit masks: bit v of a mask
// stands for e.vars[v].
type walker struct {
	msg   []byte
	e     *Expr
	spans []span
}

// run validates the whole message and fills w.spans. It reports whether the
// message is exactly one well-formed JSON value.
func (w *walker) run() bool {
	msg := w.msg
	i := skipWS(msg, 0)
	if i >= len(msg) {
		return false
	}
	end := w.value(i, 0, 0, w.e.all)
	if end < 0 {
		return false
	}
	return skipWS(msg, end) == len(msg)
}

// value scans the value at msg[i] (not whitespace) at the given nesting depth
// and path level, for the variables in mask, and returns the offset after it
// or -1 if the message is not valid.
func (w *walker) value(i, depth, level int, mask uint64) int {
	msg := w.msg
	if i >= len(msg) {
		return -1
	}
	deeper := mask &^ w.e.endAt[level]
	var end int
	switch {
	case deeper == 0:
		end = skipValue(msg, i, depth)
	case msg[i] == '{':
		end = w.object(i, depth+1, level, deeper)
	case msg[i] == '[':
		end = w.array(i, depth+1, level, deeper)
	default:
		end = skipValue(msg, i, depth)
	}
	if end < 0 {
		return -1
	}
	for m := mask & w.e.endAt[level]; m != 0; m &= m - 1 {
		w.spans[bits.TrailingZeros64(m)] = span{i, end}
	}
	return end
}

// object scans the object at msg[i] for the variables in mask, whose paths
// continue below level.
func (w *walker) object(i, depth, level int, mask uint64) int {
	if depth > maxDepth {
		return -1
	}
	msg := w.msg
	vars := w.e.vars
	i = skipWS(msg, i+1)
	if i < len(msg) && msg[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(msg) || msg[i] != '"' {
			return -1
		}
		keyStart := i + 1
		i = skipString(msg, i)
		if i < 0 {
			return -1
		}
		key := msg[keyStart : i-1]
		var child uint64
		for m := mask; m != 0; m &= m - 1 {
			v := bits.TrailingZeros64(m)
			st := &vars[v].path[level]
			if !st.isIndex && keyEquals(key, st) {
				child |= 1 << uint(v)
				// A later duplicate key replaces an earlier one, as in
				// encoding/json: forget what the earlier one held.
				w.spans[v] = span{}
			}
		}
		i = skipWS(msg, i)
		if i >= len(msg) || msg[i] != ':' {
			return -1
		}
		i = skipWS(msg, i+1)
		if child != 0 {
			i = w.value(i, depth, level+1, child)
		} else {
			i = skipValue(msg, i, depth)
		}
		if i < 0 {
			return -1
		}
		i = skipWS(msg, i)
		if i >= len(msg) {
			return -1
		}
		switch msg[i] {
		case ',':
			i = skipWS(msg, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// array scans the array at msg[i] for the variables in mask, whose paths
// continue below level.
func (w *walker) array(i, depth, level int, mask uint64) int {
	if depth > maxDepth {
		return -1
	}
	msg := w.msg
	vars := w.e.vars
	i = skipWS(msg, i+1)
	if i < len(msg) && msg[i] == ']' {
		return i + 1
	}
	for n := 0; ; n++ {
		var child uint64
		for m := mask; m != 0; m &= m - 1 {
			v := bits.TrailingZeros64(m)
			if st := &vars[v].path[level]; st.isIndex && st.index == n {
				child |= 1 << uint(v)
			}
		}
		if child != 0 {
			i = w.value(i, depth, level+1, child)
		} else {
			i = skipValue(msg, i, depth)
		}
		if i < 0 {
			return -1
		}
		i = skipWS(msg, i)
		if i >= len(msg) {
			return -1
		}
		switch msg[i] {
		case ',':
			i = skipWS(msg, i+1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// skipWS returns the offset of the first non-whitespace byte at or after i.
func skipWS(msg []byte, i int) int {
	for i < len(msg) {
		if c := msg[i]; c > ' ' || (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			return i
		}
		i++
	}
	return i
}

// skipValue validates the value at msg[i] (not whitespace), nested depth
// containers deep, and returns the offset after it or -1.
func skipValue(msg []byte, i, depth int) int {
	if i >= len(msg) {
		return -1
	}
	switch c := msg[i]; c {
	case '"':
		return skipString(msg, i)
	case '{':
		return skipObject(msg, i, depth+1)
	case '[':
		return skipArray(msg, i, depth+1)
	case 't':
		return skipLiteral(msg, i, "true")
	case 'f':
		return skipLiteral(msg, i, "false")
	case 'n':
		return skipLiteral(msg, i, "null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return skipNumber(msg, i)
		}
		return -1
	}
}

func skipObject(msg []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipWS(msg, i+1)
	if i < len(msg) && msg[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(msg) || msg[i] != '"' {
			return -1
		}
		if i = skipString(msg, i); i < 0 {
			return -1
		}
		i = skipWS(msg, i)
		if i >= len(msg) || msg[i] != ':' {
			return -1
		}
		if i = skipValue(msg, skipWS(msg, i+1), depth); i < 0 {
			return -1
		}
		i = skipWS(msg, i)
		if i >= len(msg) {
			return -1
		}
		switch msg[i] {
		case ',':
			i = skipWS(msg, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

func skipArray(msg []byte, i, depth int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipWS(msg, i+1)
	if i < len(msg) && msg[i] == ']' {
		return i + 1
	}
	for {
		if i = skipValue(msg, i, depth); i < 0 {
			return -1
		}
		i = skipWS(msg, i)
		if i >= len(msg) {
			return -1
		}
		switch msg[i] {
		case ',':
			i = skipWS(msg, i+1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// plainString marks the bytes that may appear in a JSON string as they are:
// everything but '"', '\\' and control characters.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialBytes returns a mask whose lowest set bit is the high bit of the
// first byte of x (in little-endian order) that is '"', '\\' or a control
// character, or 0 if there is none. Bits above the lowest may be spurious.
func specialBytes(x uint64) uint64 {
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	return ((q-lsb)&^q | (b-lsb)&^b | (x-lsb*0x20)&^x) & msb
}

// skipString validates the string whose opening quote is at msg[i] and
// returns the offset after its closing quote, or -1.
func skipString(msg []byte, i int) int {
	i++
	for {
		// Plain bytes, eight at a time while possible.
		for i+8 <= len(msg) {
			if m := specialBytes(binary.LittleEndian.Uint64(msg[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(msg) && plainString[msg[i]] {
			i++
		}
		if i >= len(msg) {
			return -1
		}
		switch msg[i] {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= len(msg) {
				return -1
			}
			switch msg[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+4 >= len(msg) || !isHex(msg[i+1]) || !isHex(msg[i+2]) || !isHex(msg[i+3]) || !isHex(msg[i+4]) {
					return -1
				}
				i += 5
			default:
				return -1
			}
		default:
			return -1 // a control character
		}
	}
}

func skipLiteral(msg []byte, i int, lit string) int {
	if len(msg)-i < len(lit) || string(msg[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// skipNumber validates the number at msg[i] and returns the offset after it.
// What follows the number is checked by the caller.
func skipNumber(msg []byte, i int) int {
	if msg[i] == '-' {
		i++
		if i >= len(msg) {
			return -1
		}
	}
	switch c := msg[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = skipDigits(msg, i+1)
	default:
		return -1
	}
	if i < len(msg) && msg[i] == '.' {
		j := skipDigits(msg, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(msg) && (msg[i] == 'e' || msg[i] == 'E') {
		i++
		if i < len(msg) && (msg[i] == '+' || msg[i] == '-') {
			i++
		}
		j := skipDigits(msg, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(msg []byte, i int) int {
	for i < len(msg) && msg[i] >= '0' && msg[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) rune {
	switch {
	case c <= '9':
		return rune(c - '0')
	case c <= 'F':
		return rune(c-'A') + 10
	default:
		return rune(c-'a') + 10
	}
}

// hex4 decodes the \uXXXX escape at s[i:], or returns -1 if there is none.
func hex4(s []byte, i int) rune {
	if len(s)-i < 6 || s[i] != '\\' || s[i+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[i+2 : i+6] {
		if !isHex(c) {
			return -1
		}
		r = r<<4 | hexVal(c)
	}
	return r
}

// decodeRune decodes the rune at s[i] of a validated JSON string body (the
// bytes between the quotes) and returns it with the offset after it. It
// follows encoding/json: invalid UTF-8 and unpaired surrogates become
// U+FFFD.
func decodeRune(s []byte, i int) (rune, int) {
	c := s[i]
	if c >= utf8.RuneSelf {
		r, size := utf8.DecodeRune(s[i:])
		return r, i + size
	}
	if c != '\\' {
		return rune(c), i + 1
	}
	switch s[i+1] {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		r := hex4(s, i)
		i += 6
		if utf16.IsSurrogate(r) {
			if d := utf16.DecodeRune(r, hex4(s, i)); d != utf8.RuneError {
				return d, i + 6
			}
			return utf8.RuneError, i
		}
		return r, i
	default: // '"', '\\', '/'
		return rune(s[i+1]), i + 2
	}
}

// keyEquals reports whether the raw (still escaped) JSON key equals the
// name of st once decoded.
func keyEquals(raw []byte, st *step) bool {
	name := st.name
	if st.plain {
		// An ASCII name can only come from ASCII bytes, and escapes make the
		// raw key longer than the decoded one.
		switch {
		case len(raw) < len(name):
			return false
		case len(raw) == len(name):
			return string(raw) == name
		}
		if !hasBackslash(raw) {
			return false
		}
	}
	j := 0
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(raw); {
		var r rune
		r, i = decodeRune(raw, i)
		n := utf8.EncodeRune(buf[:], r)
		if len(name)-j < n || string(buf[:n]) != name[j:j+n] {
			return false
		}
		j += n
	}
	return j == len(name)
}

func hasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// appendUnquoted appends the decoded form of a validated JSON string body.
func appendUnquoted(dst, s []byte) []byte {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && s[i] != '\\' {
		i++
	}
	dst = append(dst, s[:i]...)
	for i < len(s) {
		var r rune
		r, i = decodeRune(s, i)
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
