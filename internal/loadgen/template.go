package loadgen

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// placeholder is one {{name}} of a template.
type placeholder int

const (
	phNone placeholder = iota
	phConn
	phSeq
	phID
	phTS
)

// segment is literal text followed by a placeholder (phNone for the last).
type segment struct {
	text []byte
	ph   placeholder
}

// template is a parsed message or push body template, rendered without
// allocating into a caller's buffer.
type template struct {
	segs  []segment
	hasID bool
}

// parseTemplate splits src at its placeholders. {{conn}} is allowed only in
// message templates (conn true); any other {{name}} is an error naming it.
func parseTemplate(src string, conn bool) (*template, error) {
	t := &template{}
	rest := src
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.segs = append(t.segs, segment{text: []byte(rest)})
			return t, nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unterminated placeholder at %q", rest[i:])
		}
		name := rest[i+2 : i+j]
		var ph placeholder
		switch name {
		case "conn":
			if !conn {
				return nil, fmt.Errorf("unknown placeholder {{%s}}: expected {{seq}}, {{id}} or {{ts}}", name)
			}
			ph = phConn
		case "seq":
			ph = phSeq
		case "id":
			ph = phID
			t.hasID = true
		case "ts":
			ph = phTS
		default:
			if conn {
				return nil, fmt.Errorf("unknown placeholder {{%s}}: expected {{conn}}, {{seq}}, {{id}} or {{ts}}", name)
			}
			return nil, fmt.Errorf("unknown placeholder {{%s}}: expected {{seq}}, {{id}} or {{ts}}", name)
		}
		t.segs = append(t.segs, segment{text: []byte(rest[:i]), ph: ph})
		rest = rest[i+j+2:]
	}
}

// render appends the template's text to dst with conn, seq, the token
// built by tok and the time ts (Unix nanoseconds) in its placeholders.
func (t *template) render(dst []byte, conn int, seq uint64, tok *tokenizer, push bool, ts int64) []byte {
	for _, s := range t.segs {
		dst = append(dst, s.text...)
		switch s.ph {
		case phConn:
			dst = strconv.AppendInt(dst, int64(conn), 10)
		case phSeq:
			dst = strconv.AppendUint(dst, seq, 10)
		case phID:
			if push {
				dst = tok.appendPush(dst, seq)
			} else {
				dst = tok.appendMessage(dst, conn, seq)
			}
		case phTS:
			dst = strconv.AppendInt(dst, ts, 10)
		}
	}
	return dst
}

// tokenizer makes and finds the {{id}} tokens of one run. A message's token
// is PREFIX-CONN-SEQ and a push's PREFIX-p-SEQ, where PREFIX is random per
// run, so a token found in a reply names exactly one message.
type tokenizer struct {
	prefix []byte
}

// newTokenizer returns a tokenizer with a fresh random prefix.
func newTokenizer() *tokenizer {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	p := []byte("lg")
	for _, c := range b {
		p = append(p, alphabet[c&31])
	}
	return &tokenizer{prefix: p}
}

func (t *tokenizer) appendMessage(dst []byte, conn int, seq uint64) []byte {
	dst = append(dst, t.prefix...)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, int64(conn), 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, seq, 10)
}

func (t *tokenizer) appendPush(dst []byte, seq uint64) []byte {
	dst = append(dst, t.prefix...)
	dst = append(dst, "-p-"...)
	return strconv.AppendUint(dst, seq, 10)
}

// foundToken is a token found in a frame.
type foundToken struct {
	push bool
	conn int
	seq  uint64
}

// next returns the first well-formed token in p and the text after its
// prefix, where the search for the next one resumes; ok is false when p
// holds no further token.
func (t *tokenizer) next(p []byte) (ft foundToken, rest []byte, ok bool) {
	for len(p) > 0 {
		i := bytes.Index(p, t.prefix)
		if i < 0 {
			return ft, nil, false
		}
		p = p[i+len(t.prefix):]
		if ft, ok := parseToken(p); ok {
			return ft, p, true
		}
	}
	return ft, nil, false
}

// parseToken parses what follows a prefix: -CONN-SEQ or -p-SEQ.
func parseToken(p []byte) (foundToken, bool) {
	if len(p) < 2 || p[0] != '-' {
		return foundToken{}, false
	}
	p = p[1:]
	if p[0] == 'p' {
		if len(p) < 2 || p[1] != '-' {
			return foundToken{}, false
		}
		seq, _, ok := parseDigits(p[2:])
		return foundToken{push: true, seq: seq}, ok
	}
	conn, rest, ok := parseDigits(p)
	if !ok || len(rest) == 0 || rest[0] != '-' {
		return foundToken{}, false
	}
	seq, _, ok := parseDigits(rest[1:])
	if !ok || conn > 1<<31 {
		return foundToken{}, false
	}
	return foundToken{conn: int(conn), seq: seq}, true
}

// parseDigits parses the decimal number p starts with.
func parseDigits(p []byte) (uint64, []byte, bool) {
	var n uint64
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9' && i < 19; i++ {
		n = n*10 + uint64(p[i]-'0')
	}
	return n, p[i:], i > 0
}

// CheckTemplate reports whether tmpl is a valid message template
// (Config.Template): its error names the faulty placeholder.
func CheckTemplate(tmpl string) error {
	_, err := parseTemplate(tmpl, true)
	return err
}

// CheckPushBody reports whether body is a valid push body template
// (PushConfig.Body), which must contain {{id}}.
func CheckPushBody(body string) error {
	t, err := parseTemplate(body, false)
	if err == nil && !t.hasID {
		err = errors.New("the template must contain {{id}}: pushed frames are matched by it")
	}
	return err
}
