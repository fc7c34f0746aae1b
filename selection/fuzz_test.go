package selection

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds beyond those in testdata/fuzz; run with
//
//	go test -fuzz=FuzzParse -fuzztime=60s ./selection/
//	go test -fuzz=FuzzEvaluate -fuzztime=60s ./selection/
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`$request.body.action`, `${request.body.service}/${request.body.action}`, `$default`, `\$default`,
		`${request.body['a b'][0].c}`, `${request.body`, `${}`, `$.`, `$context.x`, `$request.body..a`,
		`$request.header.x-api-key`, `$context.authorizer.usageIdentifierKey`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, expr string, apiKey bool) {
		kind := Body
		if apiKey {
			kind = APIKey
		}
		e, err := Parse(expr, kind)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not a *ParseError", expr, err)
			}
			if pe.Offset < 0 || pe.End > len(expr) || pe.End < pe.Offset || (pe.End == pe.Offset && expr != "") {
				t.Fatalf("Parse(%q) error range %d-%d is outside the expression", expr, pe.Offset, pe.End)
			}
			if pe.Message == "" || !strings.HasSuffix(pe.Message, ".") || pe.Expr != expr {
				t.Fatalf("Parse(%q) error %#v is not a sentence about the expression", expr, pe)
			}
			return
		}
		if e.String() != expr || e.Kind() != kind {
			t.Fatalf("Parse(%q) = %q of kind %v", expr, e.String(), e.Kind())
		}
		if e.IsDefault() && !e.IsStatic() {
			t.Fatalf("Parse(%q) is $default but not static", expr)
		}
		if kind == APIKey && (e.IsStatic() || len(e.vars) != 1) {
			t.Fatalf("Parse(%q, APIKey) accepted something other than one variable", expr)
		}
		if !utf8.ValidString(expr) {
			t.Fatalf("Parse(%q) accepted invalid UTF-8", expr)
		}
		out, ok := e.Evaluate([]byte("p:"), []byte(awsPayload))
		if !ok || !bytes.HasPrefix(out, []byte("p:")) {
			t.Fatalf("Evaluate(%q) on a JSON message = %q, %v", expr, out, ok)
		}
		if e.IsStatic() {
			if out, ok := e.Evaluate(nil, []byte("not json")); !ok || string(out) != e.staticText {
				t.Fatalf("static Evaluate(%q) on a non-JSON message = %q, %v", expr, out, ok)
			}
		}
		_ = e.EvaluateAPIKey(func(string) string { return "h" }, "k")
	})
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range []struct{ expr, msg string }{
		{`$request.body.action`, awsPayload},
		{`${request.body.service}/${request.body.action}`, awsPayload},
		{`$request.body.data.room`, awsPayload},
		{`${request.body.a[1]}`, `{"a":[1,"x\u00e9\ud83d\ude00"]}`},
		{`$request.body.a`, `{"a":"x","a":{"b":[true,false,null,-1.5e3]}}`},
		{`$request.body`, `[1,[2,[3]]]`},
		{`$request.body.a`, `not json`},
		{`$request.body.a`, `{"a":"\ud800"} `},
	} {
		f.Add(s.expr, []byte(s.msg))
	}
	fallback, err := Parse(`${request.body.action}`, Body)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string, msg []byte) {
		e, err := Parse(expr, Body)
		if err != nil {
			e = fallback
		}
		out, ok := e.Evaluate([]byte("p:"), msg)
		if !bytes.HasPrefix(out, []byte("p:")) {
			t.Fatalf("Evaluate(%q, %q) lost the prefix of dst: %q", e, msg, out)
		}
		out = out[2:]
		if e.IsStatic() {
			if !ok || string(out) != e.staticText {
				t.Fatalf("static Evaluate(%q, %q) = %q, %v", e, msg, out, ok)
			}
			return
		}
		valid := json.Valid(msg)
		if ok != valid {
			t.Fatalf("Evaluate(%q, %q) ok = %v, json.Valid = %v", e, msg, ok, valid)
		}
		if !ok {
			if len(out) != 0 {
				t.Fatalf("Evaluate(%q, %q) not evaluable but appended %q", e, msg, out)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.UseNumber()
		var body any
		if err := dec.Decode(&body); err != nil {
			t.Fatalf("decode a valid message %q: %v", msg, err)
		}
		want, exact := referenceEvaluate(e, body)
		if exact && string(out) != want {
			t.Fatalf("Evaluate(%q, %q) = %q, encoding/json says %q", e, msg, out, want)
		}
	})
}

// referenceEvaluate evaluates e on a message decoded by encoding/json. exact
// is false when the rendering includes a non-empty object, whose key order
// (and duplicate keys) the decoded form has lost.
func referenceEvaluate(e *Expr, body any) (out string, exact bool) {
	var sb strings.Builder
	exact = true
	for _, s := range e.segs {
		if s.v < 0 {
			sb.WriteString(s.lit)
			continue
		}
		v, found := body, true
		for _, st := range e.vars[s.v].path {
			switch x := v.(type) {
			case map[string]any:
				v, found = x[st.name]
				found = found && !st.isIndex
			case []any:
				found = st.isIndex && st.index < len(x)
				if found {
					v = x[st.index]
				}
			default:
				found = false
			}
			if !found {
				break
			}
		}
		if found {
			exact = referenceRender(&sb, v) && exact
		}
	}
	return sb.String(), exact
}

func referenceRender(sb *strings.Builder, v any) bool {
	switch x := v.(type) {
	case string:
		sb.WriteString(x)
	case json.Number:
		sb.WriteString(string(x))
	case bool:
		if x {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case nil:
		sb.WriteString("null")
	case []any:
		exact := true
		sb.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			exact = referenceRender(sb, el) && exact
		}
		sb.WriteByte(']')
		return exact
	case map[string]any:
		sb.WriteString("{}")
		return len(x) == 0
	}
	return true
}

func TestReferenceEvaluateAgrees(t *testing.T) {
	// The oracle of FuzzEvaluate must itself agree with the AWS table.
	var body any
	if err := json.Unmarshal([]byte(awsPayload), &body); err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		`${request.body.service}/${request.body.action}`:     "chat/join",
		`${request.body.action}-${request.body.invalidPath}`: "join-",
	} {
		e, err := Parse(expr, Body)
		if err != nil {
			t.Fatal(err)
		}
		if got, exact := referenceEvaluate(e, body); got != want || !exact {
			t.Errorf("referenceEvaluate(%q) = %q, %v; want %q, true", expr, got, exact, want)
		}
	}
}
