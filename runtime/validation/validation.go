package validation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// Errors that Validate wraps in an *Error; test with errors.Is.
var (
	// ErrNotJSON is a message that is not exactly one JSON value (D-39).
	ErrNotJSON = errors.New("message is not JSON")
	// ErrNoModel is a message for which no model applies: the selected key
	// and "$default" have none, or the model named is not defined.
	ErrNoModel = errors.New("no model")
)

// schemaURL is the location each model's schema is compiled under, the same
// as config uses when it checks the schema.
const schemaURL = "urn:wsgwctl:model"

// maxReasons is how many schema violations an Error lists before it counts
// the rest.
const maxReasons = 3

// Models holds the compiled schemas of one deployment's models, by name. It
// is immutable and safe for concurrent use.
type Models struct {
	byName map[string]*compiled
}

// compiled is one model: its name and compiled schema.
type compiled struct {
	name   string
	schema *jsonschema.Schema
}

// Compile compiles the schema of every model once. It fails on the first
// model whose schema is not JSON or not a valid draft 4 schema, naming it;
// config rejects such models at validate time (D-23), so an error here means
// the state was not produced by this version of wsgwctl.
func Compile(models []*model.Model) (*Models, error) {
	m := &Models{byName: make(map[string]*compiled, len(models))}
	for _, md := range models {
		sch, err := compileSchema(md.Schema)
		if err != nil {
			return nil, fmt.Errorf("compile model %q: %w", md.Name, err)
		}
		m.byName[md.Name] = &compiled{name: md.Name, schema: sch}
	}
	return m, nil
}

// compileSchema compiles one schema with its own compiler, as config does,
// so that two models cannot see each other's ids.
func compileSchema(schema string) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(noLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %s", oneLine(err.Error()))
	}
	return sch, nil
}

// noLoader refuses every external schema reference, so that compiling a
// model never reads files or the network.
type noLoader struct{}

// Load implements jsonschema.URLLoader.
func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not supported (%s)", url)
}

// Validate validates msg, the raw bytes of a message, against the model
// called name. It returns nil when the message is valid and an *Error
// otherwise.
func (m *Models) Validate(name string, msg []byte) error {
	c, ok := m.byName[name]
	if !ok {
		return &Error{Model: name, Err: undefined(name)}
	}
	return c.validate(msg, "")
}

// validate decodes msg and validates it against the schema; key is the
// selection key that chose the model, for the error.
func (c *compiled) validate(msg []byte, key string) error {
	v, err := decode(msg)
	if err != nil {
		return &Error{Model: c.name, Key: key, Err: fmt.Errorf("%w: %v", ErrNotJSON, err)}
	}
	if err := c.schema.Validate(v); err != nil {
		return &Error{Model: c.name, Key: key, Err: err}
	}
	return nil
}

// errTrailing is the reason of a message with more after its JSON value.
var errTrailing = errors.New("data after the JSON value")

// decode decodes a message that must be exactly one JSON value, keeping
// numbers as json.Number so that the schema library compares them exactly.
func decode(msg []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(msg))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if err == io.EOF {
			return nil, errors.New("empty message")
		}
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return v, nil
}

// errNoModelNoDefault is the error of a key that selects no model on a
// route without a "$default" model.
var errNoModelNoDefault = fmt.Errorf("%w: the key has none and there is no %q model", ErrNoModel, selection.DefaultKey)

// undefined is the error of a model name that the deployment does not
// define.
func undefined(name string) error {
	return fmt.Errorf("%w: model %q is not defined", ErrNoModel, name)
}

// RouteValidator validates the messages of one route (RT-23). It is
// immutable and safe for concurrent use. A nil *RouteValidator accepts every
// message: it is what ForRoute returns for a route without a
// model_selection_expression.
type RouteValidator struct {
	expr *selection.Expr
	// byKey maps a request_models key to its model; def is the "$default"
	// key's model or nil.
	byKey map[string]*choice
	def   *choice
	// static is the choice of an expression without variables (such as
	// "$default"), made once by ForRoute; nil when the expression has
	// variables.
	static *choice
}

// choice is what a key selects: the model called name, or the error to
// report (a model that is not defined, or no model at all).
type choice struct {
	key   string
	name  string
	model *compiled
	err   *Error
}

// ForRoute returns the validator of a route whose model_selection_expression
// is expr (parsed with selection.Parse as selection.Body) and whose
// request_models is requestModels (model key → model name). It returns nil,
// the validator that accepts everything, when expr is nil: a route without a
// model_selection_expression is not validated. A model name that m does not
// define makes the messages that select it fail.
func (m *Models) ForRoute(expr *selection.Expr, requestModels map[string]string) *RouteValidator {
	if expr == nil {
		return nil
	}
	v := &RouteValidator{expr: expr, byKey: make(map[string]*choice, len(requestModels))}
	for key, name := range requestModels {
		ch := &choice{key: key, name: name}
		if c, ok := m.byName[name]; ok {
			ch.model = c
		} else {
			ch.err = &Error{Model: name, Key: key, Err: undefined(name)}
		}
		v.byKey[key] = ch
	}
	v.def = v.byKey[selection.DefaultKey]
	if expr.IsStatic() {
		key, _ := expr.Evaluate(nil, nil)
		v.static = v.choose(key)
	}
	return v
}

// choose returns the choice for key: its own model, else the "$default"
// model, else a "no model" failure.
func (v *RouteValidator) choose(key []byte) *choice {
	if ch, ok := v.byKey[string(key)]; ok {
		return ch
	}
	if v.def != nil {
		return v.def
	}
	k := string(key)
	return &choice{key: k, err: &Error{Key: k, Err: errNoModelNoDefault}}
}

// Validate validates msg, the raw bytes of a message, against the model the
// route selects for it. It returns nil when the message is valid and an
// *Error otherwise; errors for a missing model are made once by ForRoute and
// shared, so callers must not modify them.
func (v *RouteValidator) Validate(msg []byte) error {
	if v == nil {
		return nil
	}
	ch := v.static
	if ch == nil {
		var buf [64]byte
		key, ok := v.expr.Evaluate(buf[:0], msg)
		if !ok {
			e := &Error{Err: ErrNotJSON}
			if v.def != nil {
				e.Model = v.def.name
			}
			return e
		}
		ch = v.choose(key)
	}
	if ch.err != nil {
		return ch.err
	}
	return ch.model.validate(msg, ch.key)
}

// Error is a message that failed validation. Its text is one line for logs;
// it must never be sent to the client, which gets the "Bad request body"
// frame whatever the reason.
type Error struct {
	// Model is the name of the model the message was validated against, or
	// "" when none was selected.
	Model string
	// Key is the selection key that chose the model, when a route's
	// model_selection_expression chose it.
	Key string
	// Err is ErrNoModel, ErrNotJSON or an error wrapping them, or the schema
	// library's *jsonschema.ValidationError.
	Err error
}

// Error returns a one-line description, listing at most three schema
// violations.
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("validate message")
	if e.Model != "" {
		sb.WriteString(" against model ")
		sb.WriteString(strconv.Quote(e.Model))
	}
	if e.Key != "" {
		sb.WriteString(" (key ")
		sb.WriteString(strconv.Quote(e.Key))
		sb.WriteString(")")
	}
	sb.WriteString(": ")
	var verr *jsonschema.ValidationError
	if !errors.As(e.Err, &verr) {
		sb.WriteString(e.Err.Error())
		return sb.String()
	}
	var leaves []*jsonschema.ValidationError
	collectLeaves(verr, &leaves)
	for i, l := range leaves {
		if i == maxReasons {
			fmt.Fprintf(&sb, "; and %d more", len(leaves)-maxReasons)
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(oneLine(l.Error()))
	}
	return sb.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// collectLeaves appends the violations at the leaves of a validation error's
// tree: the ones that say what is wrong, not which subschema failed.
func collectLeaves(e *jsonschema.ValidationError, out *[]*jsonschema.ValidationError) {
	if len(e.Causes) == 0 {
		*out = append(*out, e)
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, out)
	}
}

// oneLine joins the lines of a multi-line message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
