package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// RenderURI renders an integration uri template (CFG-2) for req and checks
// that the result is an absolute http or https URL.
//
// References resolve as follows: context.NAME through Request.ContextValue,
// stageVariables.NAME from the stage's variables, request.raw_body is the
// message text, and request.body[.PATH] is the value at PATH in the message
// parsed as JSON, rendered as D-38 says (strings without quotes, objects as
// {k=v}). jsonencode(...) writes a value as JSON instead (a request.body
// value as compact JSON with object keys sorted, as HCL's jsonencode
// writes it; every other value as a JSON string); upper, lower,
// base64encode (standard encoding), urlencode (query escaping) and trimspace
// work on the rendered text. A value that does not exist for this request
// (including request.body of a message that is not JSON) renders as "", with
// or without a function. integration.response.* is not available in a uri
// and is an error.
func RenderURI(t model.Template, req *Request) (string, error) {
	ct, err := compileTemplate(t)
	if err != nil {
		return "", err
	}
	s := string(ct.render(nil, req))
	if _, err := parseEndpoint(s); err != nil {
		return "", err
	}
	return s, nil
}

// parseEndpoint parses a rendered uri and checks that it is an absolute http
// or https URL with a host.
func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("uri " + strconv.Quote(s) + " is not a valid URL: " + err.Error())
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return nil, errors.New("uri " + strconv.Quote(s) + " is not an absolute http or https URL")
	}
	return u, nil
}

type partKind uint8

const (
	partLiteral partKind = iota
	partContext
	partStageVariable
	partBody
	partRawBody
)

// compiledTemplate is a request-time template prepared for rendering.
type compiledTemplate struct {
	static  bool
	literal string
	parts   []templatePart
}

type templatePart struct {
	kind partKind
	// lit is the text of a literal part.
	lit string
	// name is the context variable (dotted) or stage variable name.
	name string
	// body renders a request.body path as D-38 says; path is the same path
	// for jsonencode.
	body *selection.Expr
	path []model.PathStep
	fn   string
}

// compileTemplate prepares t for rendering.
func compileTemplate(t model.Template) (*compiledTemplate, error) {
	ct := &compiledTemplate{static: t.IsStatic()}
	if ct.static {
		ct.literal = t.Literal()
		return ct, nil
	}
	for _, p := range t.Parts {
		if p.Ref == nil {
			ct.parts = append(ct.parts, templatePart{kind: partLiteral, lit: p.Literal})
			continue
		}
		part, err := compileRef(*p.Ref)
		if err != nil {
			return nil, err
		}
		ct.parts = append(ct.parts, part)
	}
	return ct, nil
}

func compileRef(ref model.Ref) (templatePart, error) {
	bad := func(why string) (templatePart, error) {
		return templatePart{}, errors.New("reference " + ref.String() + ": " + why)
	}
	part := templatePart{fn: ref.Func}
	names := make([]string, 0, len(ref.Path))
	for _, s := range ref.Path {
		if s.IsIndex {
			names = nil
			break
		}
		names = append(names, s.Name)
	}
	switch ref.Root {
	case "context":
		if len(names) == 0 {
			return bad("context must be followed by a variable name")
		}
		part.kind, part.name = partContext, strings.Join(names, ".")
	case "stageVariables":
		if len(ref.Path) != 1 || len(names) != 1 {
			return bad("stageVariables must be followed by one variable name")
		}
		part.kind, part.name = partStageVariable, names[0]
	case "request":
		if len(ref.Path) == 0 || ref.Path[0].IsIndex {
			return bad("request must be followed by body or raw_body")
		}
		switch ref.Path[0].Name {
		case "raw_body":
			if len(ref.Path) != 1 {
				return bad("request.raw_body has no attributes")
			}
			part.kind = partRawBody
		case "body":
			expr, err := selection.ParseBodyPath(bodyPathText(ref.Path[1:]))
			if err != nil {
				return bad(err.Error())
			}
			part.kind, part.body, part.path = partBody, expr, ref.Path[1:]
		default:
			return bad("request must be followed by body or raw_body")
		}
	default:
		return bad("the root " + strconv.Quote(ref.Root) + " is not available in an integration uri")
	}
	switch ref.Func {
	case "", "jsonencode", "upper", "lower", "base64encode", "urlencode", "trimspace":
	default:
		return bad("unknown function " + strconv.Quote(ref.Func))
	}
	return part, nil
}

// bodyPathText writes path steps in the PATH syntax of D-38, quoting every
// name so that any character is allowed.
func bodyPathText(steps []model.PathStep) string {
	var b strings.Builder
	for _, s := range steps {
		if s.IsIndex {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
			continue
		}
		b.WriteString("['")
		for i := 0; i < len(s.Name); i++ {
			if c := s.Name[i]; c == '\'' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s.Name[i])
		}
		b.WriteString("']")
	}
	return b.String()
}

// render appends the rendered template to dst.
func (ct *compiledTemplate) render(dst []byte, req *Request) []byte {
	if ct.static {
		return append(dst, ct.literal...)
	}
	for i := range ct.parts {
		p := &ct.parts[i]
		switch p.kind {
		case partLiteral:
			dst = append(dst, p.lit...)
		case partContext:
			if v, ok := req.ContextValue(p.name); ok {
				dst = applyFunc(dst, p.fn, v)
			}
		case partStageVariable:
			if v, ok := req.StageVariables[p.name]; ok {
				dst = applyFunc(dst, p.fn, v)
			}
		case partRawBody:
			dst = applyFunc(dst, p.fn, bytesString(req.Body))
		case partBody:
			if p.fn == "jsonencode" {
				if raw, ok := jsonAtPath(req.Body, p.path); ok {
					dst = append(dst, raw...)
				}
				continue
			}
			var small [256]byte
			if v, ok := p.body.Evaluate(small[:0], req.Body); ok && len(v) > 0 {
				dst = applyFunc(dst, p.fn, bytesString(v))
			}
		}
	}
	return dst
}

// applyFunc appends v passed through the template function fn.
func applyFunc(dst []byte, fn, v string) []byte {
	switch fn {
	case "jsonencode":
		return appendJSONString(dst, v)
	case "upper":
		return append(dst, strings.ToUpper(v)...)
	case "lower":
		return append(dst, strings.ToLower(v)...)
	case "trimspace":
		return append(dst, strings.TrimSpace(v)...)
	case "base64encode":
		return base64.StdEncoding.AppendEncode(dst, []byte(v))
	case "urlencode":
		return append(dst, url.QueryEscape(v)...)
	}
	return append(dst, v...)
}

// jsonAtPath returns the compact JSON text of the value at path in body, or
// false when body is not JSON or the path does not exist.
func jsonAtPath(body []byte, path []model.PathStep) ([]byte, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	for _, s := range path {
		switch c := v.(type) {
		case map[string]any:
			if s.IsIndex {
				return nil, false
			}
			var ok bool
			if v, ok = c[s.Name]; !ok {
				return nil, false
			}
		case []any:
			if !s.IsIndex || s.Index >= len(c) {
				return nil, false
			}
			v = c[s.Index]
		default:
			return nil, false
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}
