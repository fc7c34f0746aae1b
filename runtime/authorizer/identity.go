package authorizer

import (
	"fmt"
	"strings"

	"github.com/wsgwctl/wsgwctl/runtime/integration"
)

// sourceKind is where an identity source takes its value from.
type sourceKind uint8

const (
	sourceHeader sourceKind = iota + 1
	sourceQuery
	sourceStageVariable
	sourceContext
)

// identitySourcePrefixes are the identity source forms of §3.2.
var identitySourcePrefixes = [...]struct {
	prefix string
	kind   sourceKind
}{
	{"route.request.header.", sourceHeader},
	{"route.request.querystring.", sourceQuery},
	{"stageVariables.", sourceStageVariable},
	{"context.", sourceContext},
}

// identitySource is one parsed identity source.
type identitySource struct {
	kind sourceKind
	// name is the header, query parameter, stage variable or context
	// variable name.
	name string
	// value is a stage variable's value, resolved when compiling.
	value string
}

// parseIdentitySource parses one identity_sources entry.
func parseIdentitySource(s string, stageVariables map[string]string) (identitySource, error) {
	for _, p := range identitySourcePrefixes {
		name, ok := strings.CutPrefix(s, p.prefix)
		if !ok {
			continue
		}
		if name == "" {
			return identitySource{}, fmt.Errorf("identity source %q names nothing after %q", s, p.prefix)
		}
		src := identitySource{kind: p.kind, name: name}
		if p.kind == sourceStageVariable {
			src.value = stageVariables[name]
		}
		return src, nil
	}
	return identitySource{}, fmt.Errorf("identity source %q is not route.request.header.NAME, route.request.querystring.NAME, stageVariables.NAME or context.NAME", s)
}

// resolve returns the source's value for req; "" means missing or empty.
func (s *identitySource) resolve(req *integration.Request) string {
	switch s.kind {
	case sourceHeader:
		return headerValue(req.Headers, s.name)
	case sourceQuery:
		return queryValue(req.RawQuery, s.name)
	case sourceStageVariable:
		return s.value
	case sourceContext:
		v, _ := req.ContextValue(s.name)
		return v
	}
	return ""
}

// headerValue returns the last value of the handshake header name, matched
// case-insensitively, as the event's headers map holds it.
func headerValue(hs []integration.Header, name string) string {
	var value string
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			value = h.Value
		}
	}
	return value
}

// queryValue returns the last value of the query parameter key in rawQuery,
// unescaped, as the event's queryStringParameters holds it.
func queryValue(rawQuery, key string) string {
	var value string
	for _, p := range parseQuery(rawQuery) {
		if p.key == key {
			value = p.value
		}
	}
	return value
}

// pair is one header or query parameter.
type pair struct{ key, value string }

// parseQuery splits a raw query string into its parameters in order, the
// way the CONNECT event does (integration.QueryParameters).
func parseQuery(rawQuery string) []pair {
	qs := integration.QueryParameters(rawQuery)
	if qs == nil {
		return nil
	}
	pairs := make([]pair, len(qs))
	for i, q := range qs {
		pairs[i] = pair{q.Name, q.Value}
	}
	return pairs
}
