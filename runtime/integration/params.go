package integration

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wsgwctl/wsgwctl/selection"
)

// Request parameter key prefixes (D-24).
const (
	headerParamPrefix = "integration.request.header."
	queryParamPrefix  = "integration.request.querystring."
)

type sourceKind uint8

const (
	sourceStatic sourceKind = iota
	sourceContext
	sourceStageVariable
	sourceHeader
	sourceQuery
	sourceBody
)

// param is one compiled request_parameters entry.
type param struct {
	// header is true for integration.request.header.NAME, false for
	// integration.request.querystring.NAME.
	header bool
	name   string
	kind   sourceKind
	// arg is the static value, or the context, stage variable, header or
	// query parameter name of the source.
	arg  string
	body *selection.Expr
}

// compileParams compiles request_parameters, sorted by key so that headers
// and query parameters are applied in a stable order.
func compileParams(m map[string]string) ([]param, error) {
	if len(m) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	params := make([]param, 0, len(keys))
	for _, k := range keys {
		p, err := compileParam(k, m[k])
		if err != nil {
			return nil, err
		}
		params = append(params, p)
	}
	return params, nil
}

func compileParam(key, source string) (param, error) {
	var p param
	if name, ok := strings.CutPrefix(key, headerParamPrefix); ok && name != "" {
		p.header, p.name = true, name
	} else if name, ok := strings.CutPrefix(key, queryParamPrefix); ok && name != "" {
		p.name = name
	} else {
		return param{}, errors.New("request parameter " + strconv.Quote(key) + ": the key must be integration.request.header.NAME or integration.request.querystring.NAME")
	}
	bad := func(why string) (param, error) {
		return param{}, errors.New("request parameter " + strconv.Quote(key) + ": source " + strconv.Quote(source) + " " + why)
	}
	if len(source) >= 2 && source[0] == '\'' && source[len(source)-1] == '\'' {
		p.kind, p.arg = sourceStatic, source[1:len(source)-1]
		return p, nil
	}
	for _, sp := range sourcePrefixes {
		rest, ok := strings.CutPrefix(source, sp.prefix)
		if !ok || rest == "" {
			continue
		}
		p.kind, p.arg = sp.kind, rest
		if sp.kind == sourceBody {
			path := rest
			if path[0] != '[' {
				path = "." + path
			}
			expr, err := selection.ParseBodyPath(path)
			if err != nil {
				return bad("has an invalid path: " + err.Error())
			}
			p.body = expr
		}
		return p, nil
	}
	return bad("is not context.NAME, stageVariables.NAME, route.request.header.NAME, route.request.querystring.NAME, route.request.body.PATH or 'static'")
}

// sourcePrefixes are the request parameter sources other than 'static'.
var sourcePrefixes = [...]struct {
	prefix string
	kind   sourceKind
}{
	{"context.", sourceContext},
	{"stageVariables.", sourceStageVariable},
	{"route.request.header.", sourceHeader},
	{"route.request.querystring.", sourceQuery},
	{"route.request.body.", sourceBody},
}

// value resolves the parameter's source for req; ok is false when the
// source has no value, and the parameter is then omitted (D-24). A body path
// that is missing or renders as "" has no value.
func (p *param) value(req *Request) (string, bool) {
	switch p.kind {
	case sourceStatic:
		return p.arg, true
	case sourceContext:
		return req.ContextValue(p.arg)
	case sourceStageVariable:
		v, ok := req.StageVariables[p.arg]
		return v, ok
	case sourceHeader:
		return headerValue(req.Headers, p.arg)
	case sourceQuery:
		return queryValue(req.RawQuery, p.arg)
	case sourceBody:
		var small [256]byte
		v, ok := p.body.Evaluate(small[:0], req.Body)
		if !ok || len(v) == 0 {
			return "", false
		}
		return string(v), true
	}
	return "", false
}

// headerValue returns the last value of the handshake header name, matched
// case-insensitively (the same value as the event's headers map).
func headerValue(hs []Header, name string) (string, bool) {
	var value string
	found := false
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			value, found = h.Value, true
		}
	}
	return value, found
}

// applyParams sets the mapped headers on h (replacing any header of the same
// name; a mapped Host sets *host) and the mapped query parameters on u
// (replacing any parameter of the same name already in the uri).
func applyParams(params []param, req *Request, h http.Header, host *string, u *url.URL) {
	var query []pair
	for i := range params {
		p := &params[i]
		v, ok := p.value(req)
		if !ok {
			continue
		}
		if !p.header {
			query = append(query, pair{p.name, v})
			continue
		}
		if strings.EqualFold(p.name, "Host") {
			*host = v
			continue
		}
		setHeader(h, p.name, v)
	}
	if len(query) > 0 {
		u.RawQuery = replaceQuery(u.RawQuery, query)
	}
}

// setHeader sets the header name on h, replacing every header whose name
// matches case-insensitively (some are stored in a non-canonical case, such
// as the DISCONNECT header set).
func setHeader(h http.Header, name, value string) {
	canonical := http.CanonicalHeaderKey(name)
	for k := range h {
		if k != canonical && strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
	h[canonical] = []string{value}
}

// replaceQuery removes the parameters named in add from rawQuery and appends
// add, escaped.
func replaceQuery(rawQuery string, add []pair) string {
	var b strings.Builder
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		k = unescapeQuery(k)
		if slices.ContainsFunc(add, func(p pair) bool { return p.key == k }) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	for _, p := range add {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
	}
	return b.String()
}
