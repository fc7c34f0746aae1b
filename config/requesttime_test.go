package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func TestRequestTemplateConversion(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		want  string
		parts int
	}{
		{"static", `"http://h/${local.p}"`, "http://h/P", 1},
		{"stage variable", `"${local.b}/${stageVariables.svc}/x"`, "http://b/${stageVariables.svc}/x", 3},
		{"bare traversal", `context.connectionId`, "${context.connectionId}", 1},
		{"wrapped", `"${request.body}"`, "${request.body}", 1},
		{"function", `"{\"b\":${jsonencode(request.body)}}"`, `{"b":${jsonencode(request.body)}}`, 3},
		{"index and key", `"${request.body.items[2]}${request.body["a b"]}"`, `${request.body.items[2]}${request.body["a b"]}`, 2},
		{"escapes kept literal", `"$${x} %%{y} ${context.stage}"`, "$${x} %%{y} ${context.stage}", 2},
		{"static function folded", `"${upper("a")}-${context.stage}"`, "A-${context.stage}", 2},
		{"raw body", `"${request.raw_body}"`, "${request.raw_body}", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{"main.wsgw.hcl": `
locals {
  p = "P"
  b = "http://b"
}
api "chat" {
  route_selection_expression = "$request.body.action"
  integration "i" {
    type = "HTTP"
    uri  = ` + tt.expr + `
  }
  route "$default" { integration = integration.i }
}`}, LoadOptions{})
			tp := cfg.APIs[0].Integrations[0].URI
			if got := tp.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			if len(tp.Parts) != tt.parts {
				t.Errorf("%d parts, want %d: %+v", len(tp.Parts), tt.parts, tp.Parts)
			}
			back, err := model.ParseTemplate(tp.String())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tp, back); diff != "" {
				t.Errorf("round trip (-loaded +parsed):\n%s", diff)
			}
		})
	}
}

func TestResponseTemplateRefs(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.wsgw.hcl": `
api "chat" {
  route_selection_expression = "$request.body.action"
  integration "i" {
    type = "MOCK"
    response "$default" {
      templates = {
        "$default" = "${integration.response.statuscode}:${lower(integration.response.header.X-Id)}"
      }
    }
  }
  route "$default" { integration = integration.i }
}`}, LoadOptions{})
	tp := cfg.APIs[0].Integrations[0].Responses[0].Templates["$default"]
	want := model.Template{Parts: []model.TemplatePart{
		{Ref: &model.Ref{Root: "integration", Path: []model.PathStep{{Name: "response"}, {Name: "statuscode"}}}},
		{Literal: ":"},
		{Ref: &model.Ref{Root: "integration", Func: "lower", Path: []model.PathStep{{Name: "response"}, {Name: "header"}, {Name: "X-Id"}}}},
	}}
	if diff := cmp.Diff(want, tp); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSelectionExpressionConversion(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"aws form", `"$request.body.action"`, "$request.body.action"},
		{"escaped braces", `"$${request.body.action}"`, "${request.body.action}"},
		{"interpolation", `"${request.body.action}"`, "${request.body.action}"},
		{"two interpolations", `"${request.body.service}/${request.body.action}"`, "${request.body.service}/${request.body.action}"},
		{"index", `"${request.body.items[0]}"`, "${request.body.items[0]}"},
		{"quoted key", `"${request.body["a b"]}"`, "${request.body['a b']}"},
		{"escaped default", `"\\$default"`, `\$default`},
		{"var folded", `"$request.body.${var.f}"`, "$request.body.action"},
		{"static text", `"action"`, "action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{"main.wsgw.hcl": `
variable "f" { default = "action" }
api "chat" {
  route_selection_expression = ` + tt.expr + `
}`}, LoadOptions{})
			if got := cfg.APIs[0].RouteSelectionExpression; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAPIKeySelectionNormalised(t *testing.T) {
	for _, expr := range []string{`"$request.header.x-api-key"`, `"${request.header.x-api-key}"`, `"$${request.header.x-api-key}"`} {
		t.Run(expr, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{"main.wsgw.hcl": `
api "chat" {
  route_selection_expression   = "$request.body.action"
  api_key_selection_expression = ` + expr + `
}`}, LoadOptions{})
			if got := cfg.APIs[0].APIKeySelectionExpression; got != DefaultAPIKeySelectionExpression {
				t.Errorf("got %q", got)
			}
		})
	}
}
