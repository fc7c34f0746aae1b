package authorizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// InvokeAction is the IAM action a policy must allow for a WebSocket
// $connect (D-45).
const InvokeAction = "execute-api:Invoke"

// Statement effects, as written in a policy (IAM: case sensitive).
const (
	EffectAllowValue = "Allow"
	EffectDenyValue  = "Deny"
)

// Effect is the outcome of evaluating a policy against a method ARN.
type Effect int

// Outcomes of EvaluatePolicy.
const (
	// NoMatch means no statement applies to the method ARN: an implicit
	// deny (403).
	NoMatch Effect = iota
	// Allow means an Allow statement applies and no Deny statement does.
	Allow
	// Deny means a Deny statement applies; it wins over any Allow.
	Deny
)

// String returns the effect's name.
func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "NoMatch"
}

// PolicyDocument is the policyDocument of an authorizer result.
type PolicyDocument struct {
	Version string
	// Statement holds the statements; in JSON it may be one object or an
	// array of them.
	Statement []Statement
}

// Statement is one policy statement. Action and Resource may each be one
// string or a list of strings in JSON.
type Statement struct {
	Effect   string
	Action   StringList
	Resource StringList
}

// StringList is a policy element that JSON writes as a string or as an
// array of strings.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler: a string becomes a one-element
// list, an array of strings a list, null an empty list.
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*l = list
	return nil
}

// UnmarshalJSON implements json.Unmarshaler, accepting Statement as one
// object or an array of objects.
func (d *PolicyDocument) UnmarshalJSON(b []byte) error {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	d.Version = raw.Version
	d.Statement = nil
	s := bytes.TrimSpace(raw.Statement)
	switch {
	case len(s) == 0 || bytes.Equal(s, []byte("null")):
		return nil
	case s[0] == '{':
		var st Statement
		if err := json.Unmarshal(s, &st); err != nil {
			return err
		}
		d.Statement = []Statement{st}
		return nil
	}
	return json.Unmarshal(s, &d.Statement)
}

// validate checks that every statement's Effect is exactly Allow or Deny.
func (d *PolicyDocument) validate() error {
	for i, st := range d.Statement {
		if st.Effect != EffectAllowValue && st.Effect != EffectDenyValue {
			return fmt.Errorf("statement %d has Effect %q, not \"Allow\" or \"Deny\"", i, st.Effect)
		}
	}
	return nil
}

// EvaluatePolicy evaluates doc for the action InvokeAction on methodARN.
// A statement applies when one of its Action patterns matches InvokeAction
// (ignoring ASCII case) and one of its Resource patterns matches methodARN
// (case-sensitively); '*' in a pattern matches any run of characters and
// '?' exactly one. It returns Deny when an applicable statement has Effect
// "Deny", else Allow when one has Effect "Allow", else NoMatch. Statements
// with any other Effect are ignored. It never panics and does not
// allocate.
func EvaluatePolicy(doc PolicyDocument, methodARN string) Effect {
	allowed := false
	for i := range doc.Statement {
		st := &doc.Statement[i]
		var deny bool
		switch st.Effect {
		case EffectDenyValue:
			deny = true
		case EffectAllowValue:
			if allowed {
				// Only a Deny can change the outcome now.
				continue
			}
		default:
			continue
		}
		if !actionMatches(st.Action) || !resourceMatches(st.Resource, methodARN) {
			continue
		}
		if deny {
			return Deny
		}
		allowed = true
	}
	if allowed {
		return Allow
	}
	return NoMatch
}

// actionMatches reports whether one of patterns matches InvokeAction,
// ignoring ASCII case (IAM action names are case-insensitive).
func actionMatches(patterns []string) bool {
	for _, p := range patterns {
		if match(p, InvokeAction, true) {
			return true
		}
	}
	return false
}

// resourceMatches reports whether one of patterns matches arn.
func resourceMatches(patterns []string, arn string) bool {
	for _, p := range patterns {
		if Match(p, arn) {
			return true
		}
	}
	return false
}

// lowerASCII returns c lowered if it is an ASCII upper-case letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// Match reports whether s matches the wildcard pattern: '*' matches any
// sequence of characters (also empty, and across ':' and '/'), '?' exactly
// one character, and every other character itself, case-sensitively. A
// byte that is not valid UTF-8 counts as one character. It runs in
// O(len(pattern)·len(s)) time at worst and does not allocate.
func Match(pattern, s string) bool { return match(pattern, s, false) }

// match is Match, ignoring ASCII case when foldASCII is set.
func match(pattern, s string, foldASCII bool) bool {
	px, sx := 0, 0
	star, starS := -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				star, starS = px, sx
				px++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += n
				continue
			default:
				if c == s[sx] || foldASCII && lowerASCII(c) == lowerASCII(s[sx]) {
					// Byte-wise comparison of literal text is exact: a
					// pattern position after '*' or '?' is always at the
					// start of a character in s, and UTF-8 sequences
					// cannot match partially from a start byte.
					px++
					sx++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' take one more character and retry.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		px, sx = star+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
