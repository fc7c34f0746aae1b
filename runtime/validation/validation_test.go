package validation

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// outcome is what a test expects of a validation.
type outcome int

const (
	valid     outcome = iota
	violation         // a schema violation
	notJSON           // ErrNotJSON
	noModel           // ErrNoModel
)

func (o outcome) String() string {
	return [...]string{"valid", "schema violation", "not JSON", "no model"}[o]
}

// classify returns the outcome an error stands for, failing the test if the
// error is not an *Error.
func classify(t *testing.T, err error) outcome {
	t.Helper()
	if err == nil {
		return valid
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") {
		t.Errorf("error text spans several lines: %q", msg)
	}
	switch {
	case errors.Is(err, ErrNotJSON):
		return notJSON
	case errors.Is(err, ErrNoModel):
		return noModel
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is neither ErrNotJSON, ErrNoModel nor a schema violation", err)
	}
	return violation
}

func mustCompile(t testing.TB, models ...*model.Model) *Models {
	t.Helper()
	m, err := Compile(models)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const draft4 = `"$schema": "http://json-schema.org/draft-04/schema#"`

func TestValidateDraft4(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		msg    string
		want   outcome
		reason string // a substring of the error text
	}{
		{"required present", `{` + draft4 + `, "required": ["a"]}`, `{"a": 1}`, valid, ""},
		{"required missing", `{"required": ["a", "b"]}`, `{"a": 1}`, violation, "missing property 'b'"},
		{"type object", `{"type": "object"}`, `{}`, valid, ""},
		{"type object given array", `{"type": "object"}`, `[1]`, violation, "want object"},
		{"type object given string", `{"type": "object"}`, `"text"`, violation, "want object"},
		{"type integer", `{"properties": {"n": {"type": "integer"}}}`, `{"n": 3}`, valid, ""},
		{"type integer given fraction", `{"properties": {"n": {"type": "integer"}}}`, `{"n": 3.5}`, violation, "/n"},
		{"type list", `{"type": ["string", "null"]}`, `null`, valid, ""},
		{"enum member", `{"properties": {"c": {"enum": ["red", "green"]}}}`, `{"c": "green"}`, valid, ""},
		{"enum non-member", `{"properties": {"c": {"enum": ["red", "green"]}}}`, `{"c": "blue"}`, violation, "/c"},
		{"maxLength at limit", `{"properties": {"s": {"maxLength": 3}}}`, `{"s": "abc"}`, valid, ""},
		{"maxLength counts characters", `{"properties": {"s": {"maxLength": 3}}}`, `{"s": "ééé"}`, valid, ""},
		{"maxLength over", `{"properties": {"s": {"maxLength": 3}}}`, `{"s": "abcd"}`, violation, "maxLength"},
		{"minimum", `{"properties": {"n": {"minimum": 10}}}`, `{"n": 10}`, valid, ""},
		{"minimum under", `{"properties": {"n": {"minimum": 10}}}`, `{"n": 9.99}`, violation, "minimum"},
		{"draft 4 exclusiveMinimum is a boolean", `{"properties": {"n": {"minimum": 10, "exclusiveMinimum": true}}}`, `{"n": 10}`, violation, "/n"},
		{"maximum compares big integers exactly", `{"maximum": 9007199254740992}`, `9007199254740993`, violation, "maximum"},
		{"multipleOf with decimals", `{"multipleOf": 0.01}`, `0.07`, valid, ""},
		{"pattern", `{"properties": {"r": {"pattern": "^[a-z]+$"}}}`, `{"r": "abc"}`, valid, ""},
		{"pattern mismatch", `{"properties": {"r": {"pattern": "^[a-z]+$"}}}`, `{"r": "ABC"}`, violation, "/r"},
		{"additionalProperties false", `{"properties": {"a": {}}, "additionalProperties": false}`, `{"a": 1, "b": 2}`, violation, "additional"},
		{"additionalProperties schema", `{"additionalProperties": {"type": "string"}}`, `{"x": "y", "z": 1}`, violation, "/z"},
		{"nested", `{"properties": {"d": {"properties": {"e": {"type": "boolean"}}}}}`, `{"d": {"e": "yes"}}`, violation, "/d/e"},
		{"D-39 plain text", `{}`, `hello`, notJSON, "not JSON"},
		{"D-39 empty message", `{}`, ``, notJSON, "empty message"},
		{"D-39 whitespace only", `{}`, " \n ", notJSON, "not JSON"},
		{"D-39 truncated", `{}`, `{"a": 1`, notJSON, "not JSON"},
		{"D-39 two values", `{}`, `{"a": 1} {"b": 2}`, notJSON, "data after the JSON value"},
		{"D-39 trailing text", `{}`, `{"a": 1} x`, notJSON, "data after the JSON value"},
		{"surrounding whitespace is fine", `{}`, " {\"a\": 1}\n", valid, ""},
		{"empty schema accepts any JSON", `{}`, `[1, "two", null]`, valid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, &model.Model{Name: "m", Schema: tt.schema})
			err := m.Validate("m", []byte(tt.msg))
			if got := classify(t, err); got != tt.want {
				t.Fatalf("RT-23: Validate(%q) against %s: got %v (%v), want %v", tt.msg, tt.schema, got, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not contain %q", err, tt.reason)
			}
			if err != nil && !strings.HasPrefix(err.Error(), `validate message against model "m": `) {
				t.Errorf("error %q does not name the model", err)
			}
		})
	}
}

func TestValidateUndefinedModel(t *testing.T) {
	m := mustCompile(t, &model.Model{Name: "m", Schema: `{}`})
	err := m.Validate("other", []byte(`{}`))
	if classify(t, err) != noModel || !strings.Contains(err.Error(), `model "other" is not defined`) {
		t.Fatalf("Validate against an undefined model: got %v, want a no-model error naming it", err)
	}
}

func TestErrorListsAtMostThreeReasons(t *testing.T) {
	m := mustCompile(t, &model.Model{Name: "m", Schema: `{"additionalProperties": {"type": "string"}}`})
	err := m.Validate("m", []byte(`{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}`))
	if err == nil {
		t.Fatal("five violations were accepted")
	}
	msg := err.Error()
	if n := strings.Count(msg, "at '/"); n != 3 || !strings.HasSuffix(msg, "; and 2 more") {
		t.Fatalf("error %q: want three violations and \"; and 2 more\"", msg)
	}
}

func TestCompileErrorsNameTheModel(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		reason string
	}{
		{"not JSON", `{"type": `, "parse schema"},
		{"not a draft 4 schema", `{"type": 5}`, "compile schema"},
		{"external reference", `{"$ref": "http://example.com/schema.json"}`, "compile schema"},
		{"unsupported regexp", `{"pattern": "(?=a)"}`, "compile schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile([]*model.Model{
				{Name: "good", Schema: `{}`},
				{Name: "bad", Schema: tt.schema},
			})
			if err == nil {
				t.Fatal("Compile accepted an invalid schema")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `compile model "bad": `) || !strings.Contains(msg, tt.reason) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting with compile model \"bad\" and containing %q", msg, tt.reason)
			}
		})
	}
}

func TestCompileKeepsModelsApart(t *testing.T) {
	// Two models with the same id compile, as config checks each alone.
	schema := `{"id": "http://example.com/same", "type": "object"}`
	if _, err := Compile([]*model.Model{{Name: "a", Schema: schema}, {Name: "b", Schema: schema}}); err != nil {
		t.Fatalf("two models with the same id: %v", err)
	}
}

// multiModelAPI is an API whose route picks its model from the message's
// "type" field.
func multiModelAPI(t *testing.T) *Models {
	return mustCompile(t,
		&model.Model{Name: "join", Schema: `{"type": "object", "required": ["type", "room"], "properties": {"room": {"type": "string"}}}`},
		&model.Model{Name: "chat", Schema: `{"type": "object", "required": ["type", "text"], "properties": {"text": {"maxLength": 5}}}`},
		&model.Model{Name: "any", Schema: `{"type": "object", "required": ["type"]}`},
	)
}

func TestRouteValidator(t *testing.T) {
	m := multiModelAPI(t)
	withDefault := map[string]string{"join": "join", "chat": "chat", "$default": "any"}
	noDefault := map[string]string{"join": "join", "chat": "chat"}
	tests := []struct {
		name   string
		expr   string
		models map[string]string
		msg    string
		want   outcome
		model  string // the model the error names
	}{
		{"RT-23 key selects its model", "$request.body.type", withDefault, `{"type": "join", "room": "r1"}`, valid, ""},
		{"RT-23 key's model rejects", "$request.body.type", withDefault, `{"type": "join"}`, violation, "join"},
		{"RT-23 other key's model", "$request.body.type", withDefault, `{"type": "chat", "text": "toolong"}`, violation, "chat"},
		{"RT-23 unknown key falls back to $default", "$request.body.type", withDefault, `{"type": "leave"}`, valid, ""},
		{"RT-23 $default model rejects", "$request.body.type", withDefault, `{"kind": "leave"}`, violation, "any"},
		{"RT-23 missing path is the empty key, then $default", "$request.body.type", withDefault, `{"other": 1}`, violation, "any"},
		{"RT-23 no key and no $default is no model", "$request.body.type", noDefault, `{"type": "leave"}`, noModel, ""},
		{"RT-23 empty key and no $default is no model", "$request.body.type", noDefault, `{}`, noModel, ""},
		{"RT-23 known key without $default", "$request.body.type", noDefault, `{"type": "chat", "text": "hi"}`, valid, ""},
		{"D-39 non-JSON with an expression", "$request.body.type", withDefault, `join`, notJSON, "any"},
		{"D-39 non-JSON without $default", "$request.body.type", noDefault, `join`, notJSON, ""},
		{"braced expression with static text", "${request.body.type}", map[string]string{"join": "join"}, `{"type": "join", "room": "r"}`, valid, ""},
		{"RT-23 static $default", "$default", map[string]string{"$default": "chat"}, `{"type": "x", "text": "hi"}`, valid, ""},
		{"RT-23 static $default rejects", "$default", map[string]string{"$default": "chat"}, `{"type": "x", "text": "too long"}`, violation, "chat"},
		{"D-39 static $default non-JSON", "$default", map[string]string{"$default": "chat"}, `hello`, notJSON, "chat"},
		{"RT-23 static key", "join", map[string]string{"join": "join", "$default": "any"}, `{"type": "x", "room": "r"}`, valid, ""},
		{"RT-23 static key without model", "$default", map[string]string{"join": "join"}, `{"type": "join", "room": "r"}`, noModel, ""},
		{"RT-23 no request_models", "$request.body.type", nil, `{"type": "join", "room": "r"}`, noModel, ""},
		{"RT-23 undefined model", "$request.body.type", map[string]string{"join": "missing"}, `{"type": "join"}`, noModel, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr, err := selection.Parse(tt.expr, selection.Body)
			if err != nil {
				t.Fatal(err)
			}
			v := m.ForRoute(expr, tt.models)
			err = v.Validate([]byte(tt.msg))
			if got := classify(t, err); got != tt.want {
				t.Fatalf("%s with %v on %s: got %v (%v), want %v", tt.expr, tt.models, tt.msg, got, err, tt.want)
			}
			var e *Error
			if errors.As(err, &e) && e.Model != tt.model {
				t.Errorf("error %q names model %q, want %q", err, e.Model, tt.model)
			}
		})
	}
}

func TestRouteWithoutExpressionIsNotValidated(t *testing.T) {
	v := multiModelAPI(t).ForRoute(nil, map[string]string{"$default": "join"})
	if v != nil {
		t.Fatal("ForRoute(nil, ...) returned a validator; want nil, which accepts everything")
	}
	if err := v.Validate([]byte("not JSON")); err != nil {
		t.Fatalf("RT-23: a route without model_selection_expression rejected a message: %v", err)
	}
}

// chatModels compiles the chat example's models as its configuration defines
// them, with the template rendered for max_length = 2000 (the variable's
// default).
func chatModels(t testing.TB) *Models {
	t.Helper()
	dir := filepath.Join("..", "..", "examples", "chat", "schemas")
	join, err := os.ReadFile(filepath.Join(dir, "joinroom.json"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(dir, "sendmessage.json.tftpl"))
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.ReplaceAll(string(tmpl), "${max_length}", "2000")
	if msg == string(tmpl) {
		t.Fatal("sendmessage.json.tftpl no longer uses ${max_length}")
	}
	return mustCompile(t,
		&model.Model{Name: "message", Schema: msg},
		&model.Model{Name: "join", Schema: string(join)},
	)
}

func TestChatExampleModels(t *testing.T) {
	m := chatModels(t)
	dflt, err := selection.Parse("$default", selection.Body)
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]*RouteValidator{
		"joinroom":    m.ForRoute(dflt, map[string]string{"$default": "join"}),
		"sendmessage": m.ForRoute(dflt, map[string]string{"$default": "message"}),
	}
	text2000 := strings.Repeat("é", 2000)
	tests := []struct {
		route string
		msg   any
		want  outcome
	}{
		{"joinroom", map[string]any{"action": "joinroom", "room": "general"}, valid},
		{"joinroom", map[string]any{"action": "joinroom", "room": "random"}, valid},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "general", "text": "hello general"}, valid},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "random", "text": "let me in"}, valid},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "general", "text": text2000}, valid},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "general", "text": text2000 + "x"}, violation},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "general", "text": ""}, violation},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "general"}, violation},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "General", "text": "hi"}, violation},
		{"sendmessage", map[string]any{"action": "sendmessage", "room": "general", "text": "hi", "extra": 1}, violation},
		{"sendmessage", map[string]any{"action": "joinroom", "room": "general", "text": "hi"}, violation},
		{"joinroom", map[string]any{"action": "joinroom", "room": strings.Repeat("a", 33)}, violation},
		{"joinroom", map[string]any{"action": "joinroom"}, violation},
		{"joinroom", "joinroom general", violation},
	}
	for _, tt := range tests {
		msg, err := json.Marshal(tt.msg)
		if err != nil {
			t.Fatal(err)
		}
		name := tt.route + " " + string(msg)
		if len(name) > 80 {
			name = name[:80]
		}
		t.Run(name, func(t *testing.T) {
			err := routes[tt.route].Validate(msg)
			if got := classify(t, err); got != tt.want {
				t.Fatalf("RT-23: chat route %s: got %v (%v), want %v", tt.route, got, err, tt.want)
			}
		})
	}
	if err := routes["sendmessage"].Validate([]byte("hello")); classify(t, err) != notJSON {
		t.Fatalf("D-39: a plain-text sendmessage: got %v, want not JSON", err)
	}
}

// FuzzValidate checks that any message is either validated or rejected
// without panicking, and that D-39's "not JSON" is exactly encoding/json's
// notion of a single valid JSON value.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{`{"type": "join", "room": "r"}`, `{"type": "chat", "text": 12}`, `hello`, ``, ` `, `{} {}`, `[1, 2`, `"\ud800"`, `1e400`, `{"type": ["join"]}`} {
		f.Add([]byte(seed))
	}
	m, err := Compile([]*model.Model{
		{Name: "join", Schema: `{"type": "object", "required": ["type", "room"], "properties": {"room": {"type": "string", "maxLength": 3}}}`},
		{Name: "any", Schema: `{"type": "object", "required": ["type"]}`},
	})
	if err != nil {
		f.Fatal(err)
	}
	expr, err := selection.Parse("$request.body.type", selection.Body)
	if err != nil {
		f.Fatal(err)
	}
	v := m.ForRoute(expr, map[string]string{"join": "join", "$default": "any"})
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, err := range []error{v.Validate(msg), m.Validate("any", msg)} {
			if isJSON, notJSON := json.Valid(msg), errors.Is(err, ErrNotJSON); isJSON == notJSON {
				t.Fatalf("D-39: json.Valid(%q) = %v but the validator said %v", msg, isJSON, err)
			}
			if errors.Is(err, ErrNoModel) {
				t.Fatalf("a route with a $default model reported no model: %v", err)
			}
		}
	})
}
