package selection

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says which roots an expression may use.
type Kind int

const (
	// Body is the kind of route, template and model selection expressions:
	// they may only use $request.body.PATH (D-25).
	Body Kind = iota
	// APIKey is the kind of api_key_selection_expression: exactly
	// $request.header.NAME or $context.authorizer.usageIdentifierKey.
	APIKey
)

// String returns the kind's name as used in diagnostics.
func (k Kind) String() string {
	switch k {
	case Body:
		return "Body"
	case APIKey:
		return "APIKey"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// MaxVariables is the largest number of variables one expression may hold.
const MaxVariables = 64

// DefaultKey is the reserved route, template and model key that $default and
// \$default stand for.
const DefaultKey = "$default"

// ParseError says what is wrong with an expression and where.
type ParseError struct {
	// Expr is the expression text given to Parse.
	Expr string
	// Offset and End are the byte offsets into Expr of the bad part; End is
	// greater than Offset unless Expr is empty.
	Offset, End int
	// Message is a full sentence suitable as a diagnostic detail.
	Message string
}

// Error returns the message with the position of the bad part.
func (e *ParseError) Error() string {
	return fmt.Sprintf("selection expression %q, bytes %d-%d: %s", e.Expr, e.Offset, e.End, e.Message)
}

// Expr is a parsed selection expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	text string
	kind Kind

	// segs are the parts of the expression in order.
	segs []segment
	// vars are the variables, in order of appearance.
	vars []variable
	// endAt[level] has bit v set when vars[v] has a path of length level.
	endAt []uint64
	// all has one bit set for each variable.
	all uint64
	// static is set when the expression has no variables; staticText is then
	// its value.
	static     bool
	staticText string
}

// segment is static text (v < 0) or a reference to vars[v].
type segment struct {
	lit string
	v   int
}

type rootKind uint8

const (
	rootBody rootKind = iota
	rootHeader
	rootUsageIdentifierKey
)

// variable is one $... or ${...} reference.
type variable struct {
	root rootKind
	// path is the JSONPath after request.body.
	path []step
	// header is the lower-cased header name of a rootHeader variable.
	header string
}

// step is one element of a body path: a member name or an array index.
type step struct {
	name    string
	index   int
	isIndex bool
	// plain is set when name is ASCII without backslashes, which allows a
	// faster comparison against raw JSON keys.
	plain bool
}

// String returns the expression text as given to Parse.
func (e *Expr) String() string { return e.text }

// Kind returns the kind the expression was parsed as.
func (e *Expr) Kind() Kind { return e.kind }

// IsDefault reports whether the expression is the literal $default (written
// $default or \$default).
func (e *Expr) IsDefault() bool { return e.static && e.staticText == DefaultKey }

// IsStatic reports whether the expression has no variables, so that it
// evaluates to the same text for every message.
func (e *Expr) IsStatic() bool { return e.static }

// UsesUsageIdentifierKey reports whether the expression is
// $context.authorizer.usageIdentifierKey, so that the API key comes from the
// authorizer's result.
func (e *Expr) UsesUsageIdentifierKey() bool {
	return len(e.vars) == 1 && e.vars[0].root == rootUsageIdentifierKey
}

const (
	bodyForms   = "route, template and model selection expressions may only use $request.body.PATH or ${request.body.PATH}, static text, and $default"
	apiKeyForms = "an API key selection expression must be exactly $request.header.NAME or $context.authorizer.usageIdentifierKey"
	pathForms   = "a path may only use .name, ['name'], [\"name\"] and [N]"
	pathFormsX  = pathForms + " (filters, wildcards, slices and recursive descent are not supported)"
)

// Parse parses an expression in AWS syntax. Errors are *ParseError.
func Parse(expr string, kind Kind) (*Expr, error) {
	if kind != Body && kind != APIKey {
		return nil, fmt.Errorf("parse selection expression: unknown kind %d", int(kind))
	}
	p := parser{text: expr, kind: kind}
	e, perr := p.parse()
	if perr != nil {
		return nil, perr
	}
	return e, nil
}

// ParseBodyPath parses PATH as it appears after request.body (for example
// ".room", "['room name'][0]" or "" for the whole body) and returns a Body
// expression that evaluates to the value at that path. It serves mappings
// such as route.request.body.PATH (D-43). Offsets in errors are into path.
func ParseBodyPath(path string) (*Expr, error) {
	p := parser{text: path, kind: Body}
	if err := p.checkUTF8(); err != nil {
		return nil, err
	}
	steps, next, err := p.parsePath(0, false)
	if err != nil {
		return nil, err
	}
	if next != len(path) {
		return nil, p.errorf(next, next+runeLen(path, next), "Unexpected %s in the path; %s.", describe(path, next), pathFormsX)
	}
	e := &Expr{text: path, kind: Body}
	e.vars = []variable{{root: rootBody, path: steps}}
	e.segs = []segment{{v: 0}}
	e.finish()
	return e, nil
}

type parser struct {
	text string
	kind Kind
}

func (p *parser) errorf(off, end int, format string, args ...any) *ParseError {
	if end > len(p.text) {
		end = len(p.text)
	}
	if end <= off && off < len(p.text) {
		end = off + 1
	}
	return &ParseError{Expr: p.text, Offset: off, End: end, Message: fmt.Sprintf(format, args...)}
}

func (p *parser) checkUTF8() *ParseError {
	for i := 0; i < len(p.text); {
		r, size := utf8.DecodeRuneInString(p.text[i:])
		if r == utf8.RuneError && size == 1 {
			return p.errorf(i, i+1, "The expression is not valid UTF-8.")
		}
		i += size
	}
	return nil
}

func (p *parser) parse() (*Expr, *ParseError) {
	if err := p.checkUTF8(); err != nil {
		return nil, err
	}
	text := p.text
	e := &Expr{text: text, kind: p.kind}
	if text == DefaultKey || text == `\`+DefaultKey {
		if p.kind == APIKey {
			return nil, p.errorf(0, len(text), "The key $default is not allowed here; %s.", apiKeyForms)
		}
		e.static, e.staticText = true, DefaultKey
		e.segs = []segment{{lit: DefaultKey, v: -1}}
		return e, nil
	}

	var lit strings.Builder
	litStart := -1
	flush := func() {
		if lit.Len() > 0 {
			e.segs = append(e.segs, segment{lit: lit.String(), v: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text) && text[i+1] == '$':
			if litStart < 0 {
				litStart = i
			}
			lit.WriteByte('$')
			i += 2
		case c == '$':
			v, next, err := p.parseVariable(i)
			if err != nil {
				return nil, err
			}
			if len(e.vars) == MaxVariables {
				return nil, p.errorf(i, next, "The expression has more than %d variables.", MaxVariables)
			}
			flush()
			e.segs = append(e.segs, segment{v: len(e.vars)})
			e.vars = append(e.vars, v)
			i = next
		default:
			if litStart < 0 {
				litStart = i
			}
			lit.WriteByte(c)
			i++
		}
	}
	flush()

	if p.kind == APIKey {
		if len(e.vars) != 1 || len(e.segs) != 1 {
			off, end := 0, len(text)
			if litStart >= 0 {
				off = litStart
			}
			return nil, p.errorf(off, end, "The expression %q is not allowed; %s.", text, apiKeyForms)
		}
	}
	if len(e.vars) == 0 {
		e.static = true
		if len(e.segs) == 1 {
			e.staticText = e.segs[0].lit
		}
	}
	e.finish()
	return e, nil
}

// finish computes the per-level masks used by the scanner.
func (e *Expr) finish() {
	maxLevel := 0
	for _, v := range e.vars {
		if v.root == rootBody && len(v.path) > maxLevel {
			maxLevel = len(v.path)
		}
	}
	e.endAt = make([]uint64, maxLevel+1)
	for i, v := range e.vars {
		if v.root != rootBody {
			continue
		}
		e.all |= 1 << uint(i)
		e.endAt[len(v.path)] |= 1 << uint(i)
	}
}

// parseVariable parses the variable whose '$' is at text[i] and returns it
// with the offset just after it.
func (p *parser) parseVariable(i int) (variable, int, *ParseError) {
	text := p.text
	j := i + 1
	if j < len(text) && text[j] == '{' {
		return p.parseBraced(i)
	}
	if j >= len(text) || !isNameStart(text, j) {
		end := j
		if j < len(text) && text[j] == '.' {
			end = j + 1
		}
		return variable{}, 0, p.errorf(i, end, "The variable is empty: a $ must be followed by a variable such as $request.body.action or ${request.body.action}; write \\$ for a literal dollar sign.")
	}
	v, next, err := p.parseRoot(i, j, false)
	if err != nil {
		return variable{}, 0, err
	}
	if v.root == rootBody {
		v.path, next, err = p.parsePath(next, false)
		if err != nil {
			return variable{}, 0, err
		}
	}
	return v, next, nil
}

// parseBraced parses a ${...} variable whose '$' is at text[i].
func (p *parser) parseBraced(i int) (variable, int, *ParseError) {
	text := p.text
	closing := findClose(text, i+2)
	if closing < 0 {
		return variable{}, 0, p.errorf(i, len(text), "The variable starting with ${ is not terminated: add a } after the variable, as in ${request.body.action}.")
	}
	if closing == i+2 {
		return variable{}, 0, p.errorf(i, closing+1, "The variable ${} is empty; write a variable such as ${request.body.action}.")
	}
	if !isNameStart(text, i+2) {
		return variable{}, 0, p.errorf(i+2, i+2+runeLen(text, i+2), "Unexpected %s at the start of the variable; write a variable such as ${request.body.action}.", describe(text, i+2))
	}
	v, next, err := p.parseRoot(i, i+2, true)
	if err != nil {
		return variable{}, 0, err
	}
	if v.root == rootBody {
		v.path, next, err = p.parsePath(next, true)
		if err != nil {
			return variable{}, 0, err
		}
	}
	if next != closing {
		return variable{}, 0, p.errorf(next, next+runeLen(text, next), "Unexpected %s in the variable %s; %s.", describe(text, next), text[i:closing+1], pathFormsX)
	}
	return v, closing + 1, nil
}

// findClose returns the offset of the '}' that closes a ${ whose content
// starts at j, skipping quoted names in brackets, or -1.
func findClose(text string, j int) int {
	for j < len(text) {
		switch c := text[j]; c {
		case '}':
			return j
		case '\'', '"':
			j++
			for j < len(text) && text[j] != c {
				if text[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(text) {
				return -1
			}
			j++
		default:
			j++
		}
	}
	return -1
}

// parseRoot parses the root of a variable starting at text[j]; dollar is the
// offset of its '$'. It returns the variable with the offset after the root
// (and, for headers, after the header name).
func (p *parser) parseRoot(dollar, j int, braced bool) (variable, int, *ParseError) {
	text := p.text
	rest := text[j:]
	var v variable
	next := -1
	switch {
	case hasWord(rest, "request.body"):
		v.root, next = rootBody, j+len("request.body")
	case strings.HasPrefix(rest, "request.header.") && j+len("request.header.") < len(text):
		k := j + len("request.header.")
		end := k
		for end < len(text) && isHeaderByte(text[end], braced) {
			end++
		}
		if end > k {
			v.root, v.header, next = rootHeader, strings.ToLower(text[k:end]), end
		}
	case hasWord(rest, "context.authorizer.usageIdentifierKey"):
		v.root, next = rootUsageIdentifierKey, j+len("context.authorizer.usageIdentifierKey")
	}
	if next < 0 {
		end := dottedEnd(text, j)
		if braced {
			end = findClose(text, j) + 1
		}
		return v, 0, p.rootError(dollar, end)
	}
	switch {
	case p.kind == Body && v.root != rootBody:
		end := next
		if braced {
			end = findClose(text, j) + 1
		}
		return v, 0, p.rootError(dollar, end)
	case p.kind == APIKey && v.root == rootBody:
		end := dottedEnd(text, j)
		if braced {
			end = findClose(text, j) + 1
		}
		return v, 0, p.rootError(dollar, end)
	}
	return v, next, nil
}

func (p *parser) rootError(off, end int) *ParseError {
	forms := bodyForms
	if p.kind == APIKey {
		forms = apiKeyForms
	}
	name := p.text[off:max(end, off+1)]
	if name == DefaultKey && p.kind == Body {
		return p.errorf(off, end, "The text $default is the literal key only when it is the whole expression; write \\$default to use the text $default inside other text.")
	}
	return p.errorf(off, end, "The variable %s is not allowed here: %s.", name, forms)
}

// parsePath parses a body path starting at text[j] and returns its steps
// with the offset after it. Unbraced paths end at the first character that
// cannot continue them.
func (p *parser) parsePath(j int, braced bool) ([]step, int, *ParseError) {
	text := p.text
	var steps []step
	for j < len(text) {
		switch text[j] {
		case '.':
			k := j + 1
			if k < len(text) && isNameByteStart(text, k) {
				end := nameEnd(text, k)
				name := text[k:end]
				steps = append(steps, step{name: name, plain: isPlain(name)})
				j = end
				continue
			}
			switch {
			case k < len(text) && text[k] == '.':
				return nil, 0, p.errorf(j, k+1, "Recursive descent (..) is not supported; %s.", pathForms)
			case k < len(text) && text[k] == '*':
				return nil, 0, p.errorf(j, k+1, "Wildcards are not supported; %s.", pathForms)
			case k >= len(text):
				return nil, 0, p.errorf(j, k, "The path ends with a dot; write a name after it, as in $request.body.action.")
			}
			if braced {
				return nil, 0, p.errorf(j, k+runeLen(text, k), "A dot in a path must be followed by a name (letters, digits, _ or -); use ['name'] for other names.")
			}
			return nil, 0, p.errorf(j, k+runeLen(text, k), "A dot in a path must be followed by a name (letters, digits, _ or -); use ${request.body.PATH} to put text right after a variable, or ['name'] for other names.")
		case '[':
			st, end, err := p.parseBracket(j)
			if err != nil {
				return nil, 0, err
			}
			steps = append(steps, st)
			j = end
		default:
			return steps, j, nil
		}
	}
	return steps, j, nil
}

// parseBracket parses a ['name'], ["name"] or [N] step starting at text[j].
func (p *parser) parseBracket(j int) (step, int, *ParseError) {
	text := p.text
	k := j + 1
	if k >= len(text) {
		return step{}, 0, p.errorf(j, k, "The [ is not closed; %s.", pathFormsX)
	}
	switch c := text[k]; {
	case c == '\'' || c == '"':
		var name strings.Builder
		m := k + 1
		for {
			if m >= len(text) {
				return step{}, 0, p.errorf(j, len(text), "The quoted name is not terminated; write it as ['name'].")
			}
			b := text[m]
			if b == c {
				break
			}
			if b == '\\' && m+1 < len(text) {
				m++
				b = text[m]
			}
			name.WriteByte(b)
			m++
		}
		m++ // closing quote
		if m >= len(text) || text[m] != ']' {
			return step{}, 0, p.errorf(j, min(m+1, len(text)), "A quoted name must be followed by ], as in ['name'].")
		}
		s := name.String()
		return step{name: s, plain: isPlain(s)}, m + 1, nil
	case c >= '0' && c <= '9':
		m := k
		for m < len(text) && text[m] >= '0' && text[m] <= '9' {
			m++
		}
		if m >= len(text) || text[m] != ']' {
			return step{}, 0, p.errorf(j, min(m+1, len(text)), "An array index must be followed by ], as in [0]; %s.", pathFormsX)
		}
		n, err := strconv.Atoi(text[k:m])
		if err != nil || n > 1<<31-1 {
			return step{}, 0, p.errorf(k, m, "The array index %s is too large.", text[k:m])
		}
		return step{index: n, isIndex: true}, m + 1, nil
	case c == '-':
		return step{}, 0, p.errorf(j, bracketEnd(text, j), "Negative array indexes are not supported; %s.", pathForms)
	case c == '*':
		return step{}, 0, p.errorf(j, bracketEnd(text, j), "Wildcards are not supported; %s.", pathForms)
	case c == '?':
		return step{}, 0, p.errorf(j, bracketEnd(text, j), "Filters are not supported; %s.", pathForms)
	}
	return step{}, 0, p.errorf(j, bracketEnd(text, j), "Unsupported bracket expression; %s.", pathFormsX)
}

// bracketEnd returns the offset after the ']' that closes the bracket at
// text[j], or the end of text.
func bracketEnd(text string, j int) int {
	if k := strings.IndexByte(text[j:], ']'); k >= 0 {
		return j + k + 1
	}
	return len(text)
}

// hasWord reports whether s starts with w followed by something that cannot
// continue a name.
func hasWord(s, w string) bool {
	return strings.HasPrefix(s, w) && (len(s) == len(w) || !isNameByteStart(s, len(w)))
}

// dottedEnd returns the end of a run of name characters and dots at text[j].
func dottedEnd(text string, j int) int {
	for j < len(text) {
		if text[j] == '.' {
			j++
			continue
		}
		if !isNameByteStart(text, j) {
			break
		}
		j = nameEnd(text, j)
	}
	return j
}

// nameEnd returns the end of the path name starting at text[j].
func nameEnd(text string, j int) int {
	for j < len(text) && isNameByteStart(text, j) {
		j += runeLen(text, j)
	}
	return j
}

// isNameStart reports whether text[j] starts a variable root.
func isNameStart(text string, j int) bool {
	return j < len(text) && isNameByteStart(text, j)
}

// isNameByteStart reports whether the rune at text[j] may appear in a path
// name: a letter, a digit, '_' or '-'.
func isNameByteStart(text string, j int) bool {
	c := text[j]
	if c < utf8.RuneSelf {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	r, _ := utf8.DecodeRuneInString(text[j:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isHeaderByte reports whether c may appear in a header name: any HTTP token
// character inside braces, letters, digits, '_' and '-' outside them.
func isHeaderByte(c byte, braced bool) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' {
		return true
	}
	return braced && strings.IndexByte("!#$%&'*+.^`|~", c) >= 0
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == '\\' {
			return false
		}
	}
	return true
}

func runeLen(text string, j int) int {
	if j >= len(text) {
		return 0
	}
	_, size := utf8.DecodeRuneInString(text[j:])
	return size
}

// describe names the character at text[j] for an error message.
func describe(text string, j int) string {
	if j >= len(text) {
		return "end of expression"
	}
	r, _ := utf8.DecodeRuneInString(text[j:])
	return strconv.QuoteRune(r)
}
