package integration

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// tplScope says where a template is used, which decides the roots it may
// reference (CFG-2, D-24).
type tplScope uint8

const (
	scopeURI tplScope = iota
	scopeRequestTemplate
	scopeResponseTemplate
)

func (s tplScope) String() string {
	switch s {
	case scopeURI:
		return "an integration uri"
	case scopeRequestTemplate:
		return "a request template"
	}
	return "a response template"
}

type partKind uint8

const (
	partLiteral partKind = iota
	partContext
	partStageVariable
	partBody
	partRawBody
	partStatus
	partHeader
	partReplyBody
	partReplyRawBody
)

// tfunc is a template function (model.TemplateFuncs).
type tfunc uint8

const (
	fnNone tfunc = iota
	fnJSONEncode
	fnUpper
	fnLower
	fnBase64Encode
	fnURLEncode
	fnTrimSpace
)

var funcNames = map[string]tfunc{
	"":             fnNone,
	"jsonencode":   fnJSONEncode,
	"upper":        fnUpper,
	"lower":        fnLower,
	"base64encode": fnBase64Encode,
	"urlencode":    fnURLEncode,
	"trimspace":    fnTrimSpace,
}

// tmpl is a request-time template (CFG-2) compiled for rendering: literal
// text, and references resolved to a kind of value with their path and
// function compiled.
type tmpl struct {
	// static is set when nothing is left to resolve per request; text is
	// then the whole result.
	static bool
	text   string
	parts  []tpart
}

type tpart struct {
	kind partKind
	fn   tfunc
	// name is the literal text, the context variable (dotted), the stage
	// variable or the canonical header name.
	name string
	// path is the path after request.body or integration.response.body.
	path []model.PathStep
}

// compileTemplate compiles t for use in scope. When fold is true, stage
// variables are resolved from stageVariables now (a missing one is
// missing for every request) and merged into the literal text; otherwise
// they are read from Request.StageVariables per request.
func compileTemplate(t model.Template, scope tplScope, stageVariables map[string]string, fold bool) (*tmpl, error) {
	ct := &tmpl{}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			ct.parts = append(ct.parts, tpart{kind: partLiteral, name: string(lit)})
			lit = lit[:0]
		}
	}
	for _, p := range t.Parts {
		if p.Ref == nil {
			lit = append(lit, p.Literal...)
			continue
		}
		part, err := compileRef(*p.Ref, scope)
		if err != nil {
			return nil, err
		}
		if part.kind == partStageVariable && fold {
			v, ok := stageVariables[part.name]
			lit = appendStringValue(lit, part.fn, v, ok)
			continue
		}
		flush()
		ct.parts = append(ct.parts, part)
	}
	if len(ct.parts) == 0 {
		ct.static, ct.text = true, string(lit)
		return ct, nil
	}
	flush()
	return ct, nil
}

// compileRef compiles one reference, checking its root and shape for scope.
func compileRef(ref model.Ref, scope tplScope) (tpart, error) {
	bad := func(why string) (tpart, error) {
		return tpart{}, errors.New("reference " + ref.String() + ": " + why)
	}
	fn, ok := funcNames[ref.Func]
	if !ok {
		return bad("unknown function " + strconv.Quote(ref.Func))
	}
	part := tpart{fn: fn}
	name := func(i int) string {
		if i < len(ref.Path) && !ref.Path[i].IsIndex {
			return ref.Path[i].Name
		}
		return ""
	}
	allNames := func(from int) bool {
		for _, s := range ref.Path[from:] {
			if s.IsIndex || s.Name == "" {
				return false
			}
		}
		return true
	}
	switch ref.Root {
	case "context":
		if len(ref.Path) == 0 || !allNames(0) {
			return bad("context must be followed by a variable name")
		}
		names := make([]string, len(ref.Path))
		for i, s := range ref.Path {
			names[i] = s.Name
		}
		part.kind, part.name = partContext, strings.Join(names, ".")
	case "stageVariables":
		if len(ref.Path) != 1 || !allNames(0) {
			return bad("stageVariables must be followed by one variable name")
		}
		part.kind, part.name = partStageVariable, ref.Path[0].Name
	case "request":
		switch name(0) {
		case "raw_body":
			if len(ref.Path) != 1 {
				return bad("request.raw_body has no attributes")
			}
			part.kind = partRawBody
		case "body":
			part.kind, part.path = partBody, ref.Path[1:]
		default:
			return bad("request must be followed by body or raw_body")
		}
	case "integration":
		if scope != scopeResponseTemplate {
			return bad("integration.response.* is not available in " + scope.String() + ", only in response templates")
		}
		if name(0) != "response" {
			return bad("integration must be followed by response")
		}
		switch name(1) {
		case "statuscode":
			if len(ref.Path) != 2 {
				return bad("integration.response.statuscode has no attributes")
			}
			part.kind = partStatus
		case "raw_body":
			if len(ref.Path) != 2 {
				return bad("integration.response.raw_body has no attributes")
			}
			part.kind = partReplyRawBody
		case "body":
			part.kind, part.path = partReplyBody, ref.Path[2:]
		case "header":
			if len(ref.Path) != 3 || !allNames(2) {
				return bad("integration.response.header must be followed by one header name")
			}
			part.kind, part.name = partHeader, http.CanonicalHeaderKey(ref.Path[2].Name)
		default:
			return bad("integration.response must be followed by statuscode, header.NAME, body or raw_body")
		}
	default:
		return bad("the root " + strconv.Quote(ref.Root) + " is not available in " + scope.String())
	}
	if len(part.path) > 0 {
		part.path = append([]model.PathStep(nil), part.path...)
	}
	return part, nil
}

// renderEnv is what a template renders with: the request, and in response
// templates the integration's answer. Documents are parsed lazily and at
// most once per event, whatever number of templates and references use
// them.
type renderEnv struct {
	req  *Request
	body jsonDoc
	// reply is the integration's answer; hasReply is false outside
	// response templates.
	reply    replyEnv
	hasReply bool
}

// replyEnv is the integration's answer as response templates see it.
type replyEnv struct {
	status  int
	header  http.Header
	body    jsonDoc
	latency time.Duration
}

func newRenderEnv(req *Request) renderEnv {
	return renderEnv{req: req, body: jsonDoc{raw: req.Body}}
}

// render appends the rendered template to dst.
//
// References render as follows. A string value (context.*,
// stageVariables.*, request.raw_body, integration.response.header.NAME,
// integration.response.raw_body) is written as is. integration.response.statuscode
// is a number. A JSON value (request.body[.PATH],
// integration.response.body[.PATH]) is written as text: a string unquoted
// and unescaped, a number or boolean as written in the document, null as
// nothing, an object or array as compact JSON. A value that does not exist
// (a missing path, the body of a message that is not JSON, an unset stage
// variable, a context variable the event does not have, an absent header)
// is written as nothing.
//
// jsonencode writes JSON instead: a JSON value as compact JSON with member
// order, number spelling and string escapes as in the document; a string
// value as a JSON string; statuscode as a number; a value that does not
// exist as null. upper, lower, trimspace, base64encode (standard alphabet,
// padded) and urlencode (query escaping, space as '+') apply to the text
// form above.
func (ct *tmpl) render(dst []byte, env *renderEnv) []byte {
	if ct.static {
		return append(dst, ct.text...)
	}
	// scratch holds a value while a function is applied to it.
	var small [128]byte
	scratch := small[:0]
	for i := range ct.parts {
		p := &ct.parts[i]
		switch p.kind {
		case partLiteral:
			dst = append(dst, p.name...)
		case partContext:
			if p.fn == fnNone {
				dst, _ = env.appendContext(dst, p.name)
				continue
			}
			var ok bool
			scratch, ok = env.appendContext(scratch[:0], p.name)
			dst = appendStringValue(dst, p.fn, bytesString(scratch), ok)
		case partStageVariable:
			v, ok := env.req.StageVariables[p.name]
			dst = appendStringValue(dst, p.fn, v, ok)
		case partRawBody:
			dst = appendStringValue(dst, p.fn, bytesString(env.req.Body), true)
		case partBody:
			dst, scratch = appendJSON(dst, scratch, p, &env.body)
		case partStatus:
			if !env.hasReply {
				dst = appendStringValue(dst, p.fn, "", false)
				continue
			}
			if p.fn == fnNone || p.fn == fnJSONEncode {
				dst = strconv.AppendInt(dst, int64(env.reply.status), 10)
				continue
			}
			scratch = strconv.AppendInt(scratch[:0], int64(env.reply.status), 10)
			dst = appendFunc(dst, p.fn, scratch)
		case partHeader:
			if p.fn == fnNone {
				dst, _ = env.appendHeader(dst, p.name)
				continue
			}
			var ok bool
			scratch, ok = env.appendHeader(scratch[:0], p.name)
			dst = appendStringValue(dst, p.fn, bytesString(scratch), ok)
		case partReplyBody:
			if !env.hasReply {
				dst = appendStringValue(dst, p.fn, "", false)
				continue
			}
			dst, scratch = appendJSON(dst, scratch, p, &env.reply.body)
		case partReplyRawBody:
			dst = appendStringValue(dst, p.fn, bytesString(env.reply.body.raw), env.hasReply)
		}
	}
	return dst
}

// appendContext appends a context variable. In a response template the
// integration's status and latency are those of the call being answered.
func (env *renderEnv) appendContext(dst []byte, name string) ([]byte, bool) {
	if env.hasReply {
		switch name {
		case "integrationLatency", "integration.latency":
			return strconv.AppendInt(dst, latencyMillis(env.reply.latency), 10), true
		case "integration.status", "integration.integrationStatus":
			return strconv.AppendInt(dst, int64(env.reply.status), 10), true
		}
	}
	return env.req.AppendContextValue(dst, name)
}

// appendHeader appends the values of the reply header canonical (matched
// case-insensitively), joined with ", ".
func (env *renderEnv) appendHeader(dst []byte, canonical string) ([]byte, bool) {
	if !env.hasReply || env.reply.header == nil {
		return dst, false
	}
	vs, ok := env.reply.header[canonical]
	if !ok {
		for k, v := range env.reply.header {
			if strings.EqualFold(k, canonical) {
				vs, ok = v, true
				break
			}
		}
	}
	if !ok || len(vs) == 0 {
		return dst, false
	}
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, v...)
	}
	return dst, true
}

// appendJSON appends the value at p.path in doc (see tmpl.render), using
// scratch for the text a function works on; it returns both.
func appendJSON(dst, scratch []byte, p *tpart, doc *jsonDoc) ([]byte, []byte) {
	v, ok := doc.lookup(p.path)
	switch {
	case p.fn == fnJSONEncode:
		if !ok {
			return append(dst, "null"...), scratch
		}
		return appendCompact(dst, v), scratch
	case !ok:
		return dst, scratch
	case p.fn == fnNone:
		return appendValueText(dst, v), scratch
	}
	scratch = appendValueText(scratch[:0], v)
	return appendFunc(dst, p.fn, scratch), scratch
}

// appendStringValue appends a string value through fn; ok false means the
// value does not exist (nothing, or null through jsonencode).
func appendStringValue(dst []byte, fn tfunc, v string, ok bool) []byte {
	switch {
	case fn == fnNone:
		return append(dst, v...)
	case fn == fnJSONEncode:
		if !ok {
			return append(dst, "null"...)
		}
		return appendJSONString(dst, v)
	}
	return appendFunc(dst, fn, unsafeBytes(v))
}

// appendFunc appends the text s passed through fn (not jsonencode, which
// depends on the value's type).
func appendFunc(dst []byte, fn tfunc, s []byte) []byte {
	switch fn {
	case fnUpper:
		return appendMapped(dst, s, unicode.ToUpper, 'a', 'z')
	case fnLower:
		return appendMapped(dst, s, unicode.ToLower, 'A', 'Z')
	case fnTrimSpace:
		return append(dst, bytes.TrimSpace(s)...)
	case fnBase64Encode:
		return base64.StdEncoding.AppendEncode(dst, s)
	case fnURLEncode:
		return appendQueryEscape(dst, s)
	case fnJSONEncode:
		return appendJSONString(dst, bytesString(s))
	}
	return append(dst, s...)
}

// appendMapped appends s with every rune mapped by f; ASCII letters in
// lo..hi take the fast path, and bytes that are not valid UTF-8 are kept.
func appendMapped(dst, s []byte, f func(rune) rune, lo, hi byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= lo && c <= hi {
				c ^= 0x20
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, f(r))
		}
		i += size
	}
	return dst
}

// appendQueryEscape appends s escaped for a URL query, as
// net/url.QueryEscape does: letters, digits and -_.~ stay, a space becomes
// '+', every other byte becomes %XX.
func appendQueryEscape(dst, s []byte) []byte {
	const upperHex = "0123456789ABCDEF"
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return dst
}
