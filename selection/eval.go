package selection

// smallVars is how many variables Evaluate tracks without allocating.
const smallVars = 8

// Evaluate evaluates a Body expression on a raw message, appending the result
// to dst and returning it. ok is false when the message is not exactly one
// well-formed JSON value (the expression is not evaluable, and the runtime
// uses $default); out is then dst unchanged. Expressions that are entirely
// static text (including $default) return that text even for non-JSON
// messages. Values render as D-38 says; a missing path renders as nothing.
// Variables of other kinds ($request.header..., $context...) render as
// nothing. Evaluate does not allocate when dst has room for the result and
// the expression has at most 8 variables.
func (e *Expr) Evaluate(dst, msg []byte) (out []byte, ok bool) {
	if e.static {
		return append(dst, e.staticText...), true
	}
	var small [smallVars]span
	spans := small[:]
	if len(e.vars) > smallVars {
		spans = make([]span, len(e.vars))
	}
	w := walker{msg: msg, e: e, spans: spans}
	if !w.run() {
		return dst, false
	}
	for _, s := range e.segs {
		if s.v < 0 {
			dst = append(dst, s.lit...)
			continue
		}
		if sp := spans[s.v]; sp.end > 0 {
			dst, _ = render(dst, msg[:sp.end], sp.start)
		}
	}
	return dst, true
}

// render appends the rendering of the validated value at msg[i] and returns
// dst with the offset after the value.
func render(dst, msg []byte, i int) ([]byte, int) {
	switch msg[i] {
	case '"':
		end := skipString(msg, i)
		return appendUnquoted(dst, msg[i+1:end-1]), end
	case '[':
		dst = append(dst, '[')
		i = skipWS(msg, i+1)
		if msg[i] == ']' {
			return append(dst, ']'), i + 1
		}
		for {
			dst, i = render(dst, msg, i)
			i = skipWS(msg, i)
			if msg[i] == ']' {
				return append(dst, ']'), i + 1
			}
			dst = append(dst, ", "...)
			i = skipWS(msg, i+1)
		}
	case '{':
		dst = append(dst, '{')
		i = skipWS(msg, i+1)
		if msg[i] == '}' {
			return append(dst, '}'), i + 1
		}
		for {
			end := skipString(msg, i)
			dst = appendUnquoted(dst, msg[i+1:end-1])
			dst = append(dst, '=')
			i = skipWS(msg, skipWS(msg, end)+1) // past ':'
			dst, i = render(dst, msg, i)
			i = skipWS(msg, i)
			if msg[i] == '}' {
				return append(dst, '}'), i + 1
			}
			dst = append(dst, ", "...)
			i = skipWS(msg, i+1)
		}
	default:
		// Numbers, true, false and null render as written.
		end := skipValue(msg, i, 0)
		return append(dst, msg[i:end]...), end
	}
}

// EvaluateAPIKey evaluates an APIKey expression. header looks up a handshake
// header; it is called with the header name in lower case and must match
// names case-insensitively (http.Header.Get does). usageIdentifierKey is the
// authorizer's usageIdentifierKey, or "" when there is none. On a Body
// expression EvaluateAPIKey returns the static text with variables rendered
// as nothing.
func (e *Expr) EvaluateAPIKey(header func(name string) string, usageIdentifierKey string) string {
	if e.static {
		return e.staticText
	}
	if len(e.segs) == 1 && e.segs[0].v >= 0 {
		return e.apiKeyVar(&e.vars[e.segs[0].v], header, usageIdentifierKey)
	}
	var out []byte
	for _, s := range e.segs {
		if s.v < 0 {
			out = append(out, s.lit...)
			continue
		}
		out = append(out, e.apiKeyVar(&e.vars[s.v], header, usageIdentifierKey)...)
	}
	return string(out)
}

func (e *Expr) apiKeyVar(v *variable, header func(string) string, usageIdentifierKey string) string {
	switch v.root {
	case rootHeader:
		if header == nil {
			return ""
		}
		return header(v.header)
	case rootUsageIdentifierKey:
		return usageIdentifierKey
	}
	return ""
}
