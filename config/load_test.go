package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// writeConfig writes files (name → content) into a new temporary directory
// and returns it.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustLoad loads files and fails the test on any error.
func mustLoad(t *testing.T, files map[string]string, opts LoadOptions) *model.Config {
	t.Helper()
	loaded, diags := Load(writeConfig(t, files), opts)
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", diags.Error())
	}
	return loaded.Config
}

// summaries returns the summaries of the errors in diags.
func summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			out = append(out, d.Summary)
		}
	}
	return out
}

const minimalAPI = `
api "chat" {
  route_selection_expression = "$request.body.action"
  description = "${var.a}|${var.b}"
}
`

func TestVariablePrecedence(t *testing.T) {
	decls := `
variable "a" {
  default = "default-a"
}
variable "b" {
  type    = number
  default = 1
}
`
	tests := []struct {
		name     string
		files    map[string]string
		opts     func(dir string) LoadOptions
		wantDesc string
	}{
		{
			name:     "defaults",
			opts:     func(string) LoadOptions { return LoadOptions{} },
			wantDesc: "default-a|1",
		},
		{
			name: "env over default, later env wins, typed env parsed as HCL",
			opts: func(string) LoadOptions {
				return LoadOptions{Environ: []string{"WSGW_VAR_a=env1", "PATH=/bin", "WSGW_VAR_a=env2", "WSGW_VAR_b=2 + 3"}}
			},
			wantDesc: "env2|5",
		},
		{
			name:  "var-file over env, later file wins",
			files: map[string]string{"v1.hcl": "a = \"file1\"\nb = 7\n", "v2.hcl": "a = \"file2\"\n"},
			opts: func(dir string) LoadOptions {
				return LoadOptions{
					Environ:  []string{"WSGW_VAR_a=env", "WSGW_VAR_b=3"},
					VarFiles: []string{filepath.Join(dir, "v1.hcl"), filepath.Join(dir, "v2.hcl")},
				}
			},
			wantDesc: "file2|7",
		},
		{
			name:  "--var over everything, later flag wins, string raw",
			files: map[string]string{"v.hcl": "a = \"file\"\n"},
			opts: func(dir string) LoadOptions {
				return LoadOptions{
					Environ:  []string{"WSGW_VAR_a=env"},
					VarFiles: []string{filepath.Join(dir, "v.hcl")},
					Vars:     []string{"a=flag1", "b=9", "a=flag=2 ${x}"},
				}
			},
			wantDesc: "flag=2 ${x}|9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"main.wsgw.hcl": decls + minimalAPI}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeConfig(t, files)
			loaded, diags := Load(dir, tt.opts(dir))
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if got := loaded.Config.APIs[0].Description; got != tt.wantDesc {
				t.Errorf("description = %q, want %q", got, tt.wantDesc)
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	decls := `
variable "a" {}
variable "n" { type = number }
`
	tests := []struct {
		name       string
		opts       LoadOptions
		want       []string
		wantDetail string
	}{
		{"unset", LoadOptions{}, []string{SummaryNoVariableValue, SummaryNoVariableValue}, "WSGW_VAR_a"},
		{"unset allowed", LoadOptions{AllowUnsetVariables: true}, nil, ""},
		{"bad number flag", LoadOptions{Vars: []string{"a=x", "n=abc"}}, []string{SummaryInvalidVariableValue}, `--var "n=abc"`},
		{"bad number env", LoadOptions{Vars: []string{"a=x"}, Environ: []string{"WSGW_VAR_n=[1]"}}, []string{SummaryInvalidVariableValue}, "WSGW_VAR_n"},
		{"undeclared flag", LoadOptions{Vars: []string{"a=x", "n=1", "nn=2"}}, []string{SummaryUndeclaredVariableSet}, `Did you mean "n"?`},
		{"undeclared env ignored", LoadOptions{Vars: []string{"a=x", "n=1"}, Environ: []string{"WSGW_VAR_zz=1"}}, nil, ""},
		{"malformed flag", LoadOptions{Vars: []string{"a=x", "n=1", "oops"}}, []string{SummaryInvalidVarOption}, "NAME=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, map[string]string{"main.wsgw.hcl": decls + `
api "chat" {
  route_selection_expression = "$request.body.action"
  description = "${var.a}${var.n}"
}`})
			_, diags := Load(dir, tt.opts)
			if diff := cmp.Diff(tt.want, summaries(diags)); diff != "" {
				t.Fatalf("summaries (-want +got):\n%s\n%s", diff, diags.Error())
			}
			if tt.wantDetail != "" && !strings.Contains(diags[0].Detail, tt.wantDetail) {
				t.Errorf("detail %q does not mention %q", diags[0].Detail, tt.wantDetail)
			}
		})
	}
}

func TestLocalsCycleNamesChain(t *testing.T) {
	dir := writeConfig(t, map[string]string{"main.wsgw.hcl": `
locals {
  a = local.b
  b = "${local.a}x"
  c = local.a
}
api "chat" {
  route_selection_expression = "$request.body.action"
  description = local.c
}`})
	_, diags := Load(dir, LoadOptions{})
	if diff := cmp.Diff([]string{SummaryLocalsCycle}, summaries(diags)); diff != "" {
		t.Fatalf("(-want +got):\n%s\n%s", diff, diags.Error())
	}
	if !strings.Contains(diags[0].Detail, "local.a → local.b → local.a") {
		t.Errorf("detail %q does not name the chain", diags[0].Detail)
	}
}

func TestLocalsDependencyOrder(t *testing.T) {
	cfg := mustLoad(t, map[string]string{
		"a.wsgw.hcl": `
locals { c = "${local.b}-c" }
api "chat" {
  route_selection_expression = "$request.body.action"
  description = local.c
}`,
		"b.wsgw.hcl": `
locals {
  a = upper("a")
  b = "${local.a}-b"
}`,
	}, LoadOptions{})
	if got := cfg.APIs[0].Description; got != "A-b-c" {
		t.Errorf("description = %q, want A-b-c", got)
	}
}

func TestFileFunctionsRelativeToDir(t *testing.T) {
	files := map[string]string{
		"main.wsgw.hcl": `
api "chat" {
  route_selection_expression = "$request.body.action"
  description = templatefile("tpl/d.tpl", { who = "world", items = ["a", "b"] })
  model "m" {
    schema = file("schemas/m.json")
  }
}`,
		"tpl/d.tpl":      `hello ${who}: ${join(",", [for i in items : upper(i)])}`,
		"schemas/m.json": `{"type": "object"}`,
	}
	dir := writeConfig(t, files)
	// Load from another working directory: paths still resolve against the
	// configuration directory.
	t.Chdir(t.TempDir())
	loaded, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	api := loaded.Config.APIs[0]
	if api.Description != "hello world: A,B" {
		t.Errorf("description = %q", api.Description)
	}
	if api.Models[0].Schema != `{"type": "object"}` {
		t.Errorf("schema = %q", api.Models[0].Schema)
	}
}

func TestFilenamesUseDirAsGiven(t *testing.T) {
	parent := writeConfig(t, map[string]string{"examples/chat/chat.wsgw.hcl": `api "chat" {}`})
	t.Chdir(parent)
	for _, dir := range []string{"examples/chat", "."} {
		t.Run(dir, func(t *testing.T) {
			if dir == "." {
				t.Chdir(filepath.Join(parent, "examples", "chat"))
			}
			loaded, diags := Load(dir, LoadOptions{})
			want := filepath.Join(dir, "chat.wsgw.hcl")
			if len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Filename != want {
				t.Fatalf("want one diagnostic in %s, got %v", want, diags)
			}
			if _, ok := loaded.Files[want]; !ok {
				t.Errorf("Files has no %s: %v", want, loaded.Files)
			}
		})
	}
}

func TestNoConfigurationFiles(t *testing.T) {
	dir := writeConfig(t, map[string]string{"other.hcl": `api "x" {}`, "sub/a.wsgw.hcl": `api "y" {}`})
	loaded, diags := Load(dir, LoadOptions{})
	if loaded == nil || loaded.Config == nil {
		t.Fatal("nil result")
	}
	if diff := cmp.Diff([]string{SummaryNoConfigFiles}, summaries(diags)); diff != "" {
		t.Fatal(diff)
	}
	if !strings.Contains(diags[0].Detail, dir) {
		t.Errorf("detail %q does not name the directory", diags[0].Detail)
	}
	_, diags = Load(filepath.Join(dir, "missing"), LoadOptions{})
	if !diags.HasErrors() {
		t.Error("missing directory: no error")
	}
}

func TestSensitiveMarking(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.wsgw.hcl": `
variable "token" {
  sensitive = true
  default   = "s3cret"
}
variable "plain" {
  default = "p"
}
api "chat" {
  route_selection_expression = "$request.body.action"
  description = var.plain
  integration "b" {
    type = "HTTP"
    uri  = "http://x/${stageVariables.s}?t=${var.token}"
    request_templates = { "$default" = "${var.plain}" }
    response "$default" {
      templates = { "$default" = upper(var.token) }
    }
  }
  route "$default" { integration = integration.b }
  stage "prod" {
    variables = { token = var.token }
  }
}
api_key "k" {
  value = "${var.token}-0123456789abcdef"
}`}, LoadOptions{})
	api := cfg.APIs[0]
	if diff := cmp.Diff([]string{"response", "uri"}, api.Integrations[0].Meta.Sensitive); diff != "" {
		t.Errorf("integration sensitive (-want +got):\n%s", diff)
	}
	if got := api.Integrations[0].URI.String(); got != "http://x/${stageVariables.s}?t=s3cret" {
		t.Errorf("uri = %q", got)
	}
	if len(api.Meta.Sensitive) != 0 {
		t.Errorf("api sensitive = %v, want none", api.Meta.Sensitive)
	}
	if !api.Stages[0].Meta.IsSensitive("variables") {
		t.Errorf("stage variables not sensitive: %v", api.Stages[0].Meta.Sensitive)
	}
	if !cfg.APIKeys[0].Meta.IsSensitive("value") {
		t.Errorf("api key value not marked: %v", cfg.APIKeys[0].Meta.Sensitive)
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.wsgw.hcl": `
api "chat" {
  route_selection_expression = "$request.body.action"
  integration "b" {
    type = "HTTP_PROXY"
    uri  = "http://x/"
  }
  authorizer "a" {
    uri = "http://x/auth"
  }
  model "m" {
    schema = "{}"
  }
  route "$connect" {
    integration   = integration.b
    authorization = "CUSTOM"
    authorizer    = authorizer.a
  }
  route "send" {
    integration = integration.b
    model_selection_expression = "$default"
    request_models = { "$default" = model.m }
  }
  stage "prod" {
    default_route_settings {
      throttling_rate_limit = 100
      logging_level         = "INFO"
    }
    route_settings "send" {
      throttling_burst_limit = 7
    }
  }
}
api_key "k" { value = "0123456789abcdefghij" }
`}, LoadOptions{})
	api := cfg.APIs[0]
	if api.Protocol != "WEBSOCKET" || api.APIKeySelectionExpression != "$request.header.x-api-key" {
		t.Errorf("api defaults: %+v", api)
	}
	ig := api.Integrations[0]
	if ig.Method != "POST" || ig.TimeoutMS != 29000 || ig.PassthroughBehavior != "WHEN_NO_MATCH" {
		t.Errorf("integration defaults: %+v", ig)
	}
	au := api.Authorizers[0]
	if au.Type != "REQUEST" || au.TimeoutMS != 10000 || au.ResultTTLSeconds != 0 {
		t.Errorf("authorizer defaults: %+v", au)
	}
	if api.Models[0].ContentType != "application/json" {
		t.Errorf("model content type %q", api.Models[0].ContentType)
	}
	if api.Routes[1].Authorization != "NONE" || api.Routes[0].Authorizer != "a" {
		t.Errorf("routes: %+v %+v", api.Routes[0], api.Routes[1])
	}
	st := api.Stages[0]
	wantDefault := model.RouteSettings{ThrottlingBurstLimit: 5000, ThrottlingRateLimit: 100, LoggingLevel: "INFO"}
	if diff := cmp.Diff(wantDefault, st.DefaultRouteSettings); diff != "" {
		t.Errorf("default route settings (-want +got):\n%s", diff)
	}
	wantSend := wantDefault
	wantSend.ThrottlingBurstLimit = 7
	if diff := cmp.Diff(map[string]model.RouteSettings{"send": wantSend}, st.RouteSettings); diff != "" {
		t.Errorf("route settings (-want +got):\n%s", diff)
	}
	if !cfg.APIKeys[0].Enabled {
		t.Error("api key not enabled by default")
	}
}

func TestSortedOutput(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"b.wsgw.hcl": `
api "zeta" {
  route_selection_expression = "$request.body.action"
  integration "y" { type = "MOCK" }
  integration "x" {
    type = "MOCK"
    response "/5\\d\\d/" {}
    response "$default" {}
    response "/4\\d\\d/" {}
  }
  route "z" { integration = integration.x }
  route "$default" { integration = integration.y }
  stage "b" {}
  stage "a" {}
}`, "a.wsgw.hcl": `
api "alpha" {
  route_selection_expression = "$request.body.action"
}`}, LoadOptions{})
	if cfg.APIs[0].Name != "alpha" || cfg.APIs[1].Name != "zeta" {
		t.Fatalf("apis not sorted")
	}
	z := cfg.APIs[1]
	if z.Routes[0].Key != "$default" || z.Integrations[0].Name != "x" || z.Stages[0].Name != "a" {
		t.Errorf("children not sorted: %s %s %s", z.Routes[0].Key, z.Integrations[0].Name, z.Stages[0].Name)
	}
	var keys []string
	for _, r := range z.Integrations[0].Responses {
		keys = append(keys, r.Key)
	}
	if diff := cmp.Diff([]string{"/5\\d\\d/", "$default", "/4\\d\\d/"}, keys); diff != "" {
		t.Errorf("responses must keep source order (-want +got):\n%s", diff)
	}
}

func TestDuplicatePointsAtBoth(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"a.wsgw.hcl": "api \"chat\" {\n  route_selection_expression = \"$request.body.action\"\n}\n",
		"b.wsgw.hcl": "\n\napi \"chat\" {}\n",
	})
	_, diags := Load(dir, LoadOptions{})
	if len(diags) != 1 || diags[0].Summary != DuplicateSummary(KindAPI) {
		t.Fatalf("got %v", diags)
	}
	d := diags[0]
	if d.Subject.Filename != filepath.Join(dir, "b.wsgw.hcl") || d.Subject.Start.Line != 3 {
		t.Errorf("subject = %v, want the second definition", d.Subject)
	}
	first, ok := PreviousDefinitionOf(d)
	if !ok || first.Filename != filepath.Join(dir, "a.wsgw.hcl") || first.Start.Line != 1 {
		t.Errorf("previous definition = %v %v", first, ok)
	}
	if !strings.Contains(d.Detail, "a.wsgw.hcl:1") {
		t.Errorf("detail %q does not name the first definition", d.Detail)
	}
}

func TestReferenceRangeCoversTraversal(t *testing.T) {
	src := "api \"chat\" {\n  route_selection_expression = \"$request.body.action\"\n  route \"$default\" {\n    integration = integration.nope\n  }\n}\n"
	_, diags := Load(writeConfig(t, map[string]string{"main.wsgw.hcl": src}), LoadOptions{})
	if len(diags) != 1 || diags[0].Summary != SummaryUndeclaredIntegration {
		t.Fatalf("got %v", diags)
	}
	r := diags[0].Subject
	if got := src[r.Start.Byte:r.End.Byte]; got != "integration.nope" {
		t.Errorf("subject covers %q, want the whole traversal", got)
	}
}

func TestMissingArgumentAtHeader(t *testing.T) {
	src := "api \"chat\" {\n  description = \"x\"\n}\n"
	_, diags := Load(writeConfig(t, map[string]string{"main.wsgw.hcl": src}), LoadOptions{})
	if len(diags) != 1 || diags[0].Summary != SummaryMissingArgument {
		t.Fatalf("got %v", diags)
	}
	r := diags[0].Subject
	if got := src[r.Start.Byte:r.End.Byte]; got != `api "chat"` {
		t.Errorf("subject covers %q, want the block header", got)
	}
}

func TestStageDeploymentRange(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.wsgw.hcl": `api "chat" {
  route_selection_expression = "$request.body.action"
  stage "prod" {
    deployment = "d-0123456789"
  }
}`}, LoadOptions{})
	st := cfg.APIs[0].Stages[0]
	if st.Deployment != "d-0123456789" || st.DeploymentRange.Start.Line != 4 || st.DeploymentRange.Start.Column != 18 {
		t.Errorf("deployment %q at %+v", st.Deployment, st.DeploymentRange)
	}
	if st.Meta.Range.Start.Line != 3 {
		t.Errorf("stage range %+v", st.Meta.Range)
	}
}
