package validation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// benchSchema is a realistic model: a chat message with nested objects,
// arrays, patterns, enums, bounds and additionalProperties.
const benchSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "required": ["action", "room", "message", "meta"],
  "properties": {
    "action": {"enum": ["sendmessage"]},
    "room": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"},
    "message": {
      "type": "object",
      "required": ["text", "mentions"],
      "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 2000},
        "mentions": {"type": "array", "maxItems": 20, "items": {"type": "string", "pattern": "^@[a-z0-9_]{1,20}$"}},
        "attachments": {
          "type": "array",
          "maxItems": 5,
          "items": {
            "type": "object",
            "required": ["kind", "url"],
            "properties": {
              "kind": {"enum": ["image", "file", "link"]},
              "url": {"type": "string", "maxLength": 512},
              "size": {"type": "integer", "minimum": 0}
            },
            "additionalProperties": false
          }
        }
      },
      "additionalProperties": false
    },
    "meta": {
      "type": "object",
      "properties": {
        "client": {"type": "string", "maxLength": 64},
        "version": {"type": "integer", "minimum": 1},
        "sentAt": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
      }
    }
  },
  "additionalProperties": false
}`

// benchMessage returns a valid message of exactly 1024 bytes.
func benchMessage(tb testing.TB) []byte {
	tb.Helper()
	msg := func(text string) []byte {
		b, err := json.Marshal(map[string]any{
			"action": "sendmessage",
			"room":   "general",
			"message": map[string]any{
				"text":     text,
				"mentions": []string{"@alice", "@bob", "@carol_1"},
				"attachments": []map[string]any{
					{"kind": "image", "url": "https://cdn.example.com/img/8f14e45fceea167a5a36dedd4bea2543.png", "size": 48213},
					{"kind": "link", "url": "https://example.com/articles/2024/websocket-gateways"},
				},
			},
			"meta": map[string]any{"client": "web/3.2.1", "version": 2, "sentAt": 1700000000123, "tags": []string{"greeting", "public"}},
		})
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	base := len(msg(""))
	text := strings.Repeat("Hello everyone, this is a chat message. ", 30)[:1024-base]
	b := msg(text)
	if len(b) != 1024 {
		tb.Fatalf("benchmark message is %d bytes, want 1024", len(b))
	}
	return b
}

func TestBenchMessageIsValid(t *testing.T) {
	m := mustCompile(t, &model.Model{Name: "m", Schema: benchSchema})
	if err := m.Validate("m", benchMessage(t)); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkValidate1KB is the whole per-message cost of validating a 1 KB
// message against a realistic schema: decoding plus schema validation.
func BenchmarkValidate1KB(b *testing.B) {
	m := mustCompile(b, &model.Model{Name: "m", Schema: benchSchema})
	msg := benchMessage(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Validate("m", msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteValidate1KB adds model selection by a
// model_selection_expression ($request.body.action) to BenchmarkValidate1KB.
func BenchmarkRouteValidate1KB(b *testing.B) {
	m := mustCompile(b, &model.Model{Name: "m", Schema: benchSchema})
	expr, err := selection.Parse("$request.body.action", selection.Body)
	if err != nil {
		b.Fatal(err)
	}
	v := m.ForRoute(expr, map[string]string{"sendmessage": "m"})
	msg := benchMessage(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode1KB is the baseline: decoding the same message as Validate
// does (encoding/json with UseNumber) and nothing else.
func BenchmarkDecode1KB(b *testing.B) {
	msg := benchMessage(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode1KBFloat64 is the alternative decoding that was measured
// and not chosen: json.Unmarshal into any, with float64 numbers, which loses
// integers beyond 2^53.
func BenchmarkDecode1KBFloat64(b *testing.B) {
	msg := benchMessage(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(msg, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchemaOnly1KB is the schema library's own cost: validating the
// already decoded message.
func BenchmarkSchemaOnly1KB(b *testing.B) {
	m := mustCompile(b, &model.Model{Name: "m", Schema: benchSchema})
	sch := m.byName["m"].schema
	v, err := decode(benchMessage(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := sch.Validate(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateInvalid1KB is the cost of a rejected message (the error
// is built but not formatted, as when the log level drops it).
func BenchmarkValidateInvalid1KB(b *testing.B) {
	m := mustCompile(b, &model.Model{Name: "m", Schema: benchSchema})
	msg := []byte(strings.Replace(string(benchMessage(b)), `"general"`, `"General"`, 1))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Validate("m", msg); err == nil {
			b.Fatal("invalid message accepted")
		}
	}
}
