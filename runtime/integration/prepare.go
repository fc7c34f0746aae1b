package integration

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// Content handling strategies (content_handling).
const (
	ContentHandlingConvertToText   = "CONVERT_TO_TEXT"
	ContentHandlingConvertToBinary = "CONVERT_TO_BINARY"
)

// Prepared is an integration compiled for one stage: its uri with the
// stage's variables folded in, its request_parameters, request templates,
// template selection expression and integration responses. Preparing does
// all the parsing and checking, so that Call only renders and sends. A
// Prepared is immutable and safe for concurrent use.
type Prepared struct {
	name, typ string
	method    string
	timeout   time.Duration
	// uri renders the endpoint per request; staticURL is the parsed uri when
	// it has no per-request references. MOCK has neither.
	uri       *tmpl
	staticURL *url.URL
	params    []param

	// templates are the request templates by key, selected by selection
	// (nil: the key is $default).
	templates       map[string]*tmpl
	selection       *selection.Expr
	passthrough     string
	contentHandling string
	// responses are the integration responses: the /regex/ ones in source
	// order, then $default.
	responses []preparedResponse
	// byStatus[code-minStatus] is 1 + the index in responses of the response
	// that status code selects, or 0 when none does.
	byStatus []uint8

	// err is set when Invoke's cached preparation failed.
	err error
}

// preparedResponse is one integration response (D-44).
type preparedResponse struct {
	key string
	// re is the anchored key regex; nil for $default.
	re        *regexp.Regexp
	templates map[string]*tmpl
	selection *selection.Expr
}

// Status codes byStatus covers; others are matched with the regexes.
const (
	minStatus = 100
	maxStatus = 599
)

// Name returns the integration's name.
func (p *Prepared) Name() string { return p.name }

// Type returns the integration's type (model.IntegrationMock, ...).
func (p *Prepared) Type() string { return p.typ }

// Prepare compiles the integration in for a stage whose variables are
// stageVariables: the per-stage values of its uri and request_parameters
// are resolved now, once, rather than per message, and references to stage
// variables in templates become text. It checks everything that can be
// checked before a request exists: the type, the method, a uri without
// per-request references (an absolute http or https URL; not needed for
// MOCK), request_parameters, the template selection expressions
// (selection.Body), passthrough_behavior, content_handling, and the
// response keys ($default or /regex/, D-44). The error names the
// integration and the problem.
//
// Request templates, template_selection_expression, passthrough_behavior,
// content_handling and responses are used by HTTP and MOCK only (proxy
// integrations pass messages and replies through) and are not compiled for
// AWS_PROXY and HTTP_PROXY.
func (iv *Invoker) Prepare(in *model.Integration, stageVariables map[string]string) (*Prepared, error) {
	if in == nil {
		return nil, errors.New("prepare integration: no integration")
	}
	p, err := prepare(in, stageVariables, true)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// prepare compiles in. With fold false, stage variables stay references
// resolved per request from Request.StageVariables (Invoke's cache serves
// every stage).
func prepare(in *model.Integration, stageVariables map[string]string, fold bool) (*Prepared, error) {
	p := &Prepared{name: in.Name, typ: in.Type, method: in.Method}
	fail := func(err error) (*Prepared, error) {
		return nil, errors.New("prepare integration " + strconv.Quote(in.Name) + " (" + in.Type + "): " + err.Error())
	}
	switch in.Type {
	case model.IntegrationAWSProxy, model.IntegrationHTTPProxy, model.IntegrationHTTP, model.IntegrationMock:
	default:
		return fail(errors.New("unsupported integration type " + strconv.Quote(in.Type)))
	}
	if p.method == "" {
		p.method = http.MethodPost
	}
	if !validMethod(p.method) {
		return fail(errors.New("method " + strconv.Quote(p.method) + " is not a valid HTTP method"))
	}
	p.timeout = time.Duration(in.TimeoutMS) * time.Millisecond
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if in.Type != model.IntegrationMock {
		uri, err := compileTemplate(in.URI, scopeURI, stageVariables, fold)
		if err != nil {
			return fail(errors.New("uri: " + err.Error()))
		}
		if uri.static {
			if p.staticURL, err = parseEndpoint(uri.text); err != nil {
				return fail(err)
			}
		} else {
			p.uri = uri
		}
	}
	params, err := compileParams(in.RequestParameters)
	if err != nil {
		return fail(err)
	}
	if fold {
		params = foldParams(params, stageVariables)
	}
	p.params = params
	if in.Type != model.IntegrationHTTP && in.Type != model.IntegrationMock {
		return p, nil
	}

	if p.templates, err = compileTemplates(in.RequestTemplates, scopeRequestTemplate, stageVariables, fold); err != nil {
		return fail(err)
	}
	if p.selection, err = compileSelection(in.TemplateSelectionExpression); err != nil {
		return fail(errors.New("template_selection_expression: " + err.Error()))
	}
	switch p.passthrough = in.PassthroughBehavior; p.passthrough {
	case "":
		p.passthrough = model.PassthroughWhenNoMatch
	case model.PassthroughWhenNoMatch, model.PassthroughWhenNoTemplates, model.PassthroughNever:
	default:
		return fail(errors.New("passthrough_behavior " + strconv.Quote(p.passthrough) + " is not WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER"))
	}
	switch p.contentHandling = in.ContentHandling; p.contentHandling {
	case "", ContentHandlingConvertToText, ContentHandlingConvertToBinary:
	default:
		return fail(errors.New("content_handling " + strconv.Quote(p.contentHandling) + " is not CONVERT_TO_TEXT or CONVERT_TO_BINARY"))
	}
	if err := p.compileResponses(in.Responses, stageVariables, fold); err != nil {
		return fail(err)
	}
	return p, nil
}

// compileTemplates compiles a map of templates.
func compileTemplates(m map[string]model.Template, scope tplScope, stageVariables map[string]string, fold bool) (map[string]*tmpl, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*tmpl, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		t, err := compileTemplate(m[k], scope, stageVariables, fold)
		if err != nil {
			what := "request template "
			if scope == scopeResponseTemplate {
				what = "template "
			}
			return nil, errors.New(what + strconv.Quote(k) + ": " + err.Error())
		}
		out[k] = t
	}
	return out, nil
}

// compileSelection parses a template selection expression; "" gives nil.
func compileSelection(expr string) (*selection.Expr, error) {
	if expr == "" {
		return nil, nil
	}
	return selection.Parse(expr, selection.Body)
}

// compileResponses compiles the integration responses and the status code
// table (D-44).
func (p *Prepared) compileResponses(rs []*model.IntegrationResponse, stageVariables map[string]string, fold bool) error {
	var def *preparedResponse
	for _, r := range rs {
		where := "response " + strconv.Quote(r.Key)
		pr := preparedResponse{key: r.Key}
		switch {
		case r.Key == model.RouteDefault:
		case len(r.Key) >= 2 && r.Key[0] == '/' && r.Key[len(r.Key)-1] == '/':
			re, err := regexp.Compile(`^(?:` + r.Key[1:len(r.Key)-1] + `)$`)
			if err != nil {
				return errors.New(where + ": the key is not a valid regular expression: " + err.Error())
			}
			pr.re = re
		default:
			return errors.New(where + `: the key is neither "$default" nor a /regex/`)
		}
		var err error
		if pr.templates, err = compileTemplates(r.Templates, scopeResponseTemplate, stageVariables, fold); err != nil {
			return errors.New(where + ": " + err.Error())
		}
		if pr.selection, err = compileSelection(r.TemplateSelectionExpression); err != nil {
			return errors.New(where + ": template_selection_expression: " + err.Error())
		}
		if pr.re == nil {
			if def != nil {
				return errors.New(`more than one response "$default"`)
			}
			def = &pr
			continue
		}
		p.responses = append(p.responses, pr)
	}
	if def != nil {
		p.responses = append(p.responses, *def)
	}
	if len(p.responses) == 0 {
		return nil
	}
	if len(p.responses) > 255 {
		return errors.New("more than 255 responses")
	}
	p.byStatus = make([]uint8, maxStatus-minStatus+1)
	var buf [8]byte
	for code := minStatus; code <= maxStatus; code++ {
		text := strconv.AppendInt(buf[:0], int64(code), 10)
		for i := range p.responses {
			if re := p.responses[i].re; re == nil || re.Match(text) {
				p.byStatus[code-minStatus] = uint8(i + 1)
				break
			}
		}
	}
	return nil
}

// selectResponse returns the integration response for a status code: the
// first /regex/ in source order that matches the whole code, else
// $default, else nil (D-44).
func (p *Prepared) selectResponse(status int) *preparedResponse {
	if len(p.responses) == 0 {
		return nil
	}
	if status >= minStatus && status <= maxStatus {
		if i := p.byStatus[status-minStatus]; i > 0 {
			return &p.responses[i-1]
		}
		return nil
	}
	var buf [24]byte
	text := strconv.AppendInt(buf[:0], int64(status), 10)
	for i := range p.responses {
		if re := p.responses[i].re; re == nil || re.Match(text) {
			return &p.responses[i]
		}
	}
	return nil
}

// selectTemplate returns the template whose key the selection expression
// gives for the message (the $default key without an expression), falling
// back to $default. ok is false when neither exists.
func selectTemplate(templates map[string]*tmpl, sel *selection.Expr, msg []byte) (*tmpl, bool) {
	if len(templates) == 0 {
		return nil, false
	}
	if sel != nil && !sel.IsDefault() {
		var buf [128]byte
		if key, ok := sel.Evaluate(buf[:0], msg); ok {
			if t, ok := templates[string(key)]; ok {
				return t, true
			}
		}
	}
	t, ok := templates[selection.DefaultKey]
	return t, ok
}

// passesThrough reports whether a message without a matching request
// template is sent unchanged (RT-42): always with WHEN_NO_MATCH, only when
// there are no templates at all with WHEN_NO_TEMPLATES, never with NEVER.
func (p *Prepared) passesThrough() bool {
	switch p.passthrough {
	case model.PassthroughWhenNoMatch:
		return true
	case model.PassthroughWhenNoTemplates:
		return len(p.templates) == 0
	}
	return false
}

// foldParams resolves stage-variable sources to static values; a source
// naming an unset variable has no value and its parameter is dropped
// (D-24).
func foldParams(params []param, stageVariables map[string]string) []param {
	out := params[:0]
	for _, p := range params {
		if p.kind == sourceStageVariable {
			v, ok := stageVariables[p.arg]
			if !ok {
				continue
			}
			p.kind, p.arg = sourceStatic, v
		}
		out = append(out, p)
	}
	return out
}

// validMethod reports whether m is an HTTP method token (RFC 9110 §9.1).
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
