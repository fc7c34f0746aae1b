package model

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Template is a request-time string (CFG-2): literal text interleaved with
// references to request-time variables (context.*, stageVariables.*,
// request.body, request.raw_body, integration.response.*). The configuration
// loader resolves var.* and local.* and folds everything static into literal
// text, so a Template holds only what must wait for a stage or a request.
//
// Its text form, used in state, plans and hashes, is HCL template syntax:
// literal text with "${" and "%{" escaped as "$${" and "%%{", and each
// reference written "${root.path}" or "${func(root.path)}".
type Template struct {
	Parts []TemplatePart
}

// TemplatePart is either literal text (Ref == nil) or a reference.
type TemplatePart struct {
	Literal string
	Ref     *Ref
}

// Template functions a reference may be wrapped in.
var TemplateFuncs = []string{"jsonencode", "upper", "lower", "base64encode", "urlencode", "trimspace"}

// Ref is a reference to a request-time variable, optionally passed through one
// of TemplateFuncs.
type Ref struct {
	// Root is "context", "stageVariables", "request" or "integration".
	Root string
	// Path are the steps after the root: names and list indexes.
	Path []PathStep
	// Func is "" or one of TemplateFuncs.
	Func string
}

// PathStep is one step of a Ref's path: a name (attribute or string key) or a
// list index.
type PathStep struct {
	Name    string
	Index   int
	IsIndex bool
}

// LiteralTemplate returns a template of just the text s.
func LiteralTemplate(s string) Template {
	if s == "" {
		return Template{}
	}
	return Template{Parts: []TemplatePart{{Literal: s}}}
}

// IsZero reports whether t is empty.
func (t Template) IsZero() bool { return len(t.Parts) == 0 }

// IsStatic reports whether t has no references.
func (t Template) IsStatic() bool {
	for _, p := range t.Parts {
		if p.Ref != nil {
			return false
		}
	}
	return true
}

// Literal returns the text of a static template (references are rendered in
// their text form).
func (t Template) Literal() string {
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Ref != nil {
			b.WriteString("${" + p.Ref.String() + "}")
			continue
		}
		b.WriteString(p.Literal)
	}
	return b.String()
}

// String returns the template's text form (see Template).
func (t Template) String() string {
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Ref != nil {
			b.WriteString("${")
			b.WriteString(p.Ref.String())
			b.WriteString("}")
			continue
		}
		s := strings.ReplaceAll(p.Literal, "${", "$${")
		s = strings.ReplaceAll(s, "%{", "%%{")
		b.WriteString(s)
	}
	return b.String()
}

// String returns the reference as HCL would write it, e.g.
// `request.body.items[0]` or `jsonencode(request.body)`.
func (r Ref) String() string {
	var b strings.Builder
	if r.Func != "" {
		b.WriteString(r.Func)
		b.WriteByte('(')
	}
	b.WriteString(r.Root)
	for _, s := range r.Path {
		switch {
		case s.IsIndex:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		case isIdentifier(s.Name):
			b.WriteString("." + s.Name)
		default:
			b.WriteString("[" + strconv.Quote(s.Name) + "]")
		}
	}
	if r.Func != "" {
		b.WriteByte(')')
	}
	return b.String()
}

// MarshalJSON encodes t as its text form.
func (t Template) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON decodes t from its text form.
func (t *Template) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	pt, err := ParseTemplate(s)
	if err != nil {
		return err
	}
	*t = pt
	return nil
}

// ParseTemplate parses a template's text form, the inverse of String.
func ParseTemplate(s string) (Template, error) {
	var t Template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.Parts = append(t.Parts, TemplatePart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "%%{"):
			lit.WriteString("%{")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return Template{}, fmt.Errorf("template %q: unterminated ${", s)
			}
			ref, err := ParseRef(s[i+2 : i+end])
			if err != nil {
				return Template{}, fmt.Errorf("template %q: %w", s, err)
			}
			flush()
			t.Parts = append(t.Parts, TemplatePart{Ref: &ref})
			i += end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	return t, nil
}

// ParseRef parses a reference in the form Ref.String writes.
func ParseRef(s string) (Ref, error) {
	var r Ref
	s = strings.TrimSpace(s)
	if open := strings.IndexByte(s, '('); open > 0 && strings.HasSuffix(s, ")") {
		r.Func = s[:open]
		if !isTemplateFunc(r.Func) {
			return Ref{}, fmt.Errorf("unknown template function %q", r.Func)
		}
		s = s[open+1 : len(s)-1]
	}
	i := 0
	for i < len(s) && s[i] != '.' && s[i] != '[' {
		i++
	}
	r.Root = s[:i]
	if !isIdentifier(r.Root) {
		return Ref{}, fmt.Errorf("invalid reference %q", s)
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			name := s[i+1 : j]
			if name == "" {
				return Ref{}, fmt.Errorf("invalid reference %q: empty name", s)
			}
			r.Path = append(r.Path, PathStep{Name: name})
			i = j
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return Ref{}, fmt.Errorf("invalid reference %q: unterminated [", s)
			}
			inner := s[i+1 : i+j]
			if strings.HasPrefix(inner, `"`) {
				name, err := strconv.Unquote(inner)
				if err != nil {
					return Ref{}, fmt.Errorf("invalid reference %q: %w", s, err)
				}
				r.Path = append(r.Path, PathStep{Name: name})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return Ref{}, fmt.Errorf("invalid reference %q: bad index %q", s, inner)
				}
				r.Path = append(r.Path, PathStep{Index: n, IsIndex: true})
			}
			i += j + 1
		default:
			return Ref{}, fmt.Errorf("invalid reference %q", s)
		}
	}
	return r, nil
}

func isTemplateFunc(name string) bool {
	for _, f := range TemplateFuncs {
		if f == name {
			return true
		}
	}
	return false
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c == '-' || c >= '0' && c <= '9'):
		default:
			return false
		}
	}
	return true
}
