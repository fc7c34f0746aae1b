package model

import (
	"encoding/json"
	"testing"
)

func TestTemplateRoundTrip(t *testing.T) {
	tests := []string{
		"",
		"http://127.0.0.1:9000/rooms",
		"http://h/${stageVariables.room_service}/x",
		`{"id":"${context.connectionId}","b":${jsonencode(request.body)}}`,
		`literal $${not a ref} and %%{ directive }`,
		`${request.body.items[0]}${request.body["a b"]}`,
		`${integration.response.header.Content-Type}`,
	}
	for _, s := range tests {
		t.Run(s, func(t *testing.T) {
			tp, err := ParseTemplate(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := tp.String(); got != s {
				t.Fatalf("String() = %q, want %q", got, s)
			}
			b, err := json.Marshal(tp)
			if err != nil {
				t.Fatal(err)
			}
			var back Template
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.String() != s {
				t.Fatalf("JSON round trip = %q, want %q", back.String(), s)
			}
		})
	}
}

func TestTemplateLiteralEscapes(t *testing.T) {
	tp := LiteralTemplate("a ${b} %{c}")
	if got, want := tp.String(), "a $${b} %%{c}"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if !tp.IsStatic() || tp.Literal() != "a ${b} %{c}" {
		t.Fatalf("static literal lost: %q", tp.Literal())
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, s := range []string{"${", "${nope(context.x)}", "${a..b}", "${a[x]}"} {
		if _, err := ParseTemplate(s); err == nil {
			t.Errorf("ParseTemplate(%q): want error", s)
		}
	}
}
