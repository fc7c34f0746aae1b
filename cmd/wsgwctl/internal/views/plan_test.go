package views

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/plan"
	"github.com/wsgwctl/wsgwctl/state"
	"github.com/wsgwctl/wsgwctl/state/statetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/plan")

// Secrets used by the scenarios; no rendering may contain them.
const (
	secretKeyOld  = "old-key-0123456789abcdef"
	secretKeyNew  = "new-key-0123456789abcdef"
	secretToken   = "hunter2-token"
	secretAccess  = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
	secretSession = "s3ss10n-variable"
)

// applyForTest does what apply does with p.NewState, deterministically: API
// ids derived from the API's name, deployment times from the serial.
func applyForTest(t testing.TB, p *plan.Plan) *state.State {
	t.Helper()
	if !p.Applyable() {
		t.Fatalf("plan is not applyable: %+v", p.Problems)
	}
	return statetest.Apply(t, p.NewState)
}

// applied plans and applies each configuration in turn, from no state.
func applied(t testing.TB, cfgs ...*model.Config) *state.State {
	t.Helper()
	var st *state.State
	for _, c := range cfgs {
		p, problems := plan.Make(c, st, plan.Options{})
		if len(problems) > 0 {
			t.Fatalf("problems: %+v", problems[0])
		}
		st = applyForTest(t, p)
	}
	return st
}

func tmpl(t testing.TB, s string) model.Template {
	t.Helper()
	tp, err := model.ParseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

const messageSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "required": ["action", "text"],
  "properties": {
    "action": {"type": "string"},
    "text": {"type": "string", "maxLength": 1000}
  }
}
`

// chatAPI returns the API of SPEC §3.1, as config would decode it.
func chatAPI(t testing.TB, name string) *model.API {
	t.Helper()
	return &model.API{
		Name:                      name,
		Protocol:                  "WEBSOCKET",
		RouteSelectionExpression:  "$request.body.action",
		APIKeySelectionExpression: "$request.header.x-api-key",
		Integrations: []*model.Integration{{
			Name: "backend", Type: model.IntegrationHTTPProxy,
			URI:    tmpl(t, "http://127.0.0.1:9000/${stageVariables.room_service}"),
			Method: "POST", TimeoutMS: 29000, PassthroughBehavior: model.PassthroughWhenNoMatch,
			RequestParameters: map[string]string{"integration.request.header.X-Connection-Id": "context.connectionId"},
		}},
		Authorizers: []*model.Authorizer{{
			Name: "tokens", Type: "REQUEST", URI: tmpl(t, "http://127.0.0.1:9000/authorize"),
			IdentitySources: []string{"route.request.querystring.token"}, TimeoutMS: 10000,
		}},
		Models: []*model.Model{{Name: "message", Schema: messageSchema, ContentType: "application/json"}},
		Routes: []*model.Route{
			{Key: "$connect", Integration: "backend", Authorization: model.AuthorizationCustom, Authorizer: "tokens"},
			{Key: "$disconnect", Integration: "backend", Authorization: model.AuthorizationNone},
			{Key: "sendmessage", Integration: "backend", Authorization: model.AuthorizationNone,
				ModelSelectionExpression: "$default", RequestModels: map[string]string{"$default": "message"}, TwoWay: true},
		},
		Stages: []*model.Stage{
			{Name: "prod", Variables: map[string]string{"room_service": "rooms"}, DefaultRouteSettings: model.RouteSettings{
				ThrottlingBurstLimit: 500, ThrottlingRateLimit: 1000, LoggingLevel: model.LoggingOff,
			}, RouteSettings: map[string]model.RouteSettings{"sendmessage": {ThrottlingBurstLimit: 500, ThrottlingRateLimit: 50, LoggingLevel: model.LoggingOff}}},
			{Name: "test", Variables: map[string]string{"room_service": "rooms"}, DefaultRouteSettings: model.DefaultRouteSettings()},
		},
	}
}

// base returns the configuration most scenarios start from.
func base(t testing.TB) *model.Config {
	return &model.Config{APIs: []*model.API{chatAPI(t, "chat")}}
}

// edited returns base(t) changed by edit.
func edited(t testing.TB, edit func(c *model.Config)) *model.Config {
	c := base(t)
	edit(c)
	return c
}

func route(c *model.Config, key string) *model.Route {
	for _, r := range c.APIs[0].Routes {
		if r.Key == key {
			return r
		}
	}
	panic("no route " + key)
}

func stage(c *model.Config, name string) *model.Stage {
	for _, s := range c.APIs[0].Stages {
		if s.Name == name {
			return s
		}
	}
	panic("no stage " + name)
}

// scenario is one golden test: a prior state (built by applying plans) and
// a desired configuration, or a synthetic plan.
type scenario struct {
	name string
	// prior returns the state to plan against (nil: none).
	prior func(t *testing.T) *state.State
	// desired returns the configuration to plan.
	desired func(t testing.TB) *model.Config
	// synthetic, when set, returns the plan itself.
	synthetic func(t *testing.T) *plan.Plan
	// color adds a coloured human rendering to the golden file.
	color bool
	// problems is the number of problems expected.
	problems int
}

func scenarios() []scenario {
	fromBase := func(t *testing.T) *state.State { return applied(t, base(t)) }
	return []scenario{
		{name: "first_apply", desired: base},
		{name: "no_changes", prior: fromBase, desired: base},
		{name: "route_added", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				c.APIs[0].Routes = append(c.APIs[0].Routes, &model.Route{Key: "typing", Integration: "backend", Authorization: model.AuthorizationNone})
			})
		}},
		{name: "route_changed", prior: fromBase, color: true, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				r := route(c, "sendmessage")
				r.TwoWay = false
				r.RouteResponseSelectionExpression = ""
				r.RequestModels = map[string]string{"$default": "message", "application/json": "message"}
			})
		}},
		{name: "route_removed", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) { c.APIs[0].Routes = c.APIs[0].Routes[:2] })
		}},
		{name: "integration_uri_changed", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				c.APIs[0].Integrations[0].URI = tmpl(t, "http://backend.internal:9000/${stageVariables.room_service}")
			})
		}},
		{name: "authorizer_identity_source_changed", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				c.APIs[0].Authorizers[0].IdentitySources = []string{"route.request.header.Authorization", "route.request.querystring.token"}
			})
		}},
		{name: "model_schema_changed", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				c.APIs[0].Models[0].Schema = strings.Replace(messageSchema, `"maxLength": 1000`, `"maxLength": 280`, 1)
			})
		}},
		{name: "stage_variables_changed", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				stage(c, "test").Variables = map[string]string{"room_service": "rooms-v2", "debug": "true"}
			})
		}},
		{name: "stage_throttling_changed", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				s := stage(c, "prod")
				s.DefaultRouteSettings.ThrottlingRateLimit = 2000
				s.RouteSettings["sendmessage"] = model.RouteSettings{ThrottlingBurstLimit: 500, ThrottlingRateLimit: 75.5, LoggingLevel: model.LoggingOff}
			})
		}},
		{name: "change_reverted", desired: base, prior: func(t *testing.T) *state.State {
			return applied(t, base(t), edited(t, func(c *model.Config) { c.APIs[0].Integrations[0].TimeoutMS = 5000 }))
		}},
		{name: "pinned_stage_stays", prior: fromBase, desired: func(t testing.TB) *model.Config {
			first := plan.DeploymentID(plan.Snapshot(chatAPI(t, "chat")))
			return edited(t, func(c *model.Config) {
				stage(c, "prod").Deployment = first
				route(c, "$disconnect").Integration = ""
			})
		}},
		{name: "pin_not_found", prior: fromBase, problems: 1, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				s := stage(c, "prod")
				s.Deployment = "d-0000000000"
				s.DeploymentRange = model.Range{Filename: "main.wsgw.hcl", Start: model.Pos{Line: 40, Column: 18, Byte: 900}, End: model.Pos{Line: 40, Column: 32, Byte: 914}}
			})
		}},
		{name: "api_renamed", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return &model.Config{APIs: []*model.API{chatAPI(t, "rooms")}}
		}},
		{name: "api_deleted", prior: fromBase, desired: func(t testing.TB) *model.Config { return &model.Config{} }},
		{name: "sensitive_value_changed",
			prior: func(t *testing.T) *state.State { return applied(t, withSecrets(t, secretKeyOld, "v1")) },
			desired: func(t testing.TB) *model.Config {
				c := withSecrets(t, secretKeyNew, "v2")
				c.Credentials[0].SecretAccessKey = secretAccess + "2"
				return c
			}},
		{name: "secrets_created", desired: func(t testing.TB) *model.Config { return withSecrets(t, secretKeyOld, "v1") }},
		{name: "api_key_added", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				c.APIKeys = []*model.APIKey{{Name: "partner", Value: secretKeyNew, Enabled: true}}
				c.UsagePlans = []*model.UsagePlan{{Name: "partners", Stages: []model.UsagePlanStage{{API: "chat", Stage: "prod"}},
					Throttle: &model.Throttle{BurstLimit: 100, RateLimit: 50}, Quota: &model.Quota{Limit: 10000, Period: "DAY"}, APIKeys: []string{"partner"}}}
			})
		}},
		{name: "domain_name_changed",
			prior: func(t *testing.T) *state.State { return applied(t, withDomain(t, "")) },
			desired: func(t testing.TB) *model.Config {
				c := withDomain(t, "/etc/wsgw/new.crt")
				c.DomainNames[0].Mappings = append(c.DomainNames[0].Mappings, model.Mapping{BasePath: "test", API: "chat", Stage: "test"})
				return c
			}},
		{name: "deployment_pruned", prior: func(t *testing.T) *state.State {
			var cfgs []*model.Config
			for i := range 10 {
				cfgs = append(cfgs, edited(t, func(c *model.Config) { c.APIs[0].Integrations[0].TimeoutMS = 1000 + i }))
			}
			return applied(t, cfgs...)
		}, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) { c.APIs[0].Integrations[0].TimeoutMS = 2000 })
		}},
		{name: "stage_added", prior: fromBase, desired: func(t testing.TB) *model.Config {
			return edited(t, func(c *model.Config) {
				c.APIs[0].Stages = append(c.APIs[0].Stages, &model.Stage{Name: "dev", Description: "developers",
					DefaultRouteSettings: model.RouteSettings{ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5, LoggingLevel: model.LoggingInfo, DataTraceEnabled: true},
					AccessLog:            &model.AccessLog{Destination: "stdout", Format: "$context.requestId $context.routeKey"}})
			})
		}},
		{name: "replace_synthetic", synthetic: syntheticReplace},
	}
}

// withSecrets returns base with an API key, credentials and an integration
// whose uri and a stage's variables come from sensitive variables.
func withSecrets(t testing.TB, key, version string) *model.Config {
	c := base(t)
	c.APIKeys = []*model.APIKey{{Name: "partner", Value: key, Enabled: true}}
	c.Credentials = []*model.Credentials{{Name: "ci", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secretAccess}}
	ig := c.APIs[0].Integrations[0]
	ig.URI = tmpl(t, "http://127.0.0.1:9000/${stageVariables.room_service}?token="+secretToken+version)
	ig.Meta.Sensitive = []string{"uri"}
	s := c.APIs[0].Stages[1]
	s.Variables["session"] = secretSession + version
	s.Meta.Sensitive = []string{"variables"}
	return c
}

// withDomain returns base with a domain name mapping "" to prod.
func withDomain(t testing.TB, cert string) *model.Config {
	c := base(t)
	c.DomainNames = []*model.DomainName{{Host: "ws.example.com", CertificateFile: cert, PrivateKeyFile: "/etc/wsgw/ws.key",
		Mappings: []model.Mapping{{BasePath: "", API: "chat", Stage: "prod"}}}}
	return c
}

// syntheticReplace returns a plan replacing a route because of an attribute
// that forces replacement; nothing does today (D-18), but the renderings
// must support it.
func syntheticReplace(t *testing.T) *plan.Plan {
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Changes: []*plan.ResourceChange{
			{
				Address: `api.chat`, Type: plan.TypeAPI, Name: "chat",
				Actions:      []string{plan.ActionDelete, plan.ActionCreate},
				Before:       map[string]any{"protocol": "WEBSOCKET", "route_selection_expression": "$request.body.action", "description": "old"},
				After:        map[string]any{"protocol": "HTTP", "route_selection_expression": "$request.body.action", "description": "new"},
				ReplacePaths: []string{"protocol"},
			},
			{
				Address: `api.chat.route["sendmessage"]`, Type: plan.TypeRoute, Name: "sendmessage", API: "chat",
				Actions:      []string{plan.ActionDelete, plan.ActionCreate},
				Before:       map[string]any{"authorization": "NONE", "integration": "backend", "two_way": true, "request_models": map[string]any{"$default": "message"}},
				After:        map[string]any{"authorization": "NONE", "integration": "backend", "two_way": true, "request_models": map[string]any{"$default": "message", "text/plain": "message"}},
				ReplacePaths: []string{"request_models"},
			},
		},
		NewState: &state.State{},
	}
}

// render returns the human (no colour), compact and JSON renderings of p,
// and the coloured human one when colorOn.
func render(t *testing.T, p *plan.Plan, colorOn bool) []txtar.File {
	t.Helper()
	var human, compact, js, colored bytes.Buffer
	if err := PlanHuman(&human, p, false); err != nil {
		t.Fatal(err)
	}
	if err := PlanCompact(&compact, p, false); err != nil {
		t.Fatal(err)
	}
	if err := PlanJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"human": human.Bytes(), "compact": compact.Bytes(), "json": js.Bytes()} {
		if bytes.Contains(b, []byte("\x1b")) {
			t.Errorf("%s rendering without colour has ANSI sequences", name)
		}
		for _, secret := range []string{secretKeyOld, secretKeyNew, secretToken, secretAccess, secretSession} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s rendering reveals the secret %q", name, secret)
			}
		}
	}
	if n := bytes.Count(js.Bytes(), []byte("\n")); n != 1 || !bytes.HasSuffix(js.Bytes(), []byte("\n")) {
		t.Errorf("JSON rendering is not one line: %d newlines", n)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, js.Bytes(), "", "  "); err != nil {
		t.Fatalf("JSON rendering is not JSON: %v", err)
	}
	files := []txtar.File{
		{Name: "human", Data: human.Bytes()},
		{Name: "compact", Data: compact.Bytes()},
		{Name: "json", Data: indented.Bytes()},
	}
	if colorOn {
		if err := PlanHuman(&colored, p, true); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(colored.Bytes(), []byte("\x1b[")) {
			t.Error("coloured rendering has no colour")
		}
		files = append(files, txtar.File{Name: "human-color", Data: colored.Bytes()})
	}
	return files
}

func TestPlanGolden(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var p *plan.Plan
			var desired *model.Config
			if sc.synthetic != nil {
				p = sc.synthetic(t)
			} else {
				var prior *state.State
				if sc.prior != nil {
					prior = sc.prior(t)
				}
				desired = sc.desired(t)
				var problems []*plan.Problem
				p, problems = plan.Make(desired, prior, plan.Options{})
				if len(problems) != sc.problems {
					t.Fatalf("%d problems, want %d: %+v", len(problems), sc.problems, problems)
				}
			}
			got := render(t, p, sc.color)
			path := filepath.Join("testdata", "plan", sc.name+".txtar")
			if *update {
				ar := &txtar.Archive{Comment: []byte("Golden renderings of the plan scenario " + sc.name + "; regenerate with go test -update.\n"), Files: got}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				ar, err := txtar.ParseFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(filesMap(ar.Files), filesMap(got)); diff != "" {
					t.Errorf("renderings differ from %s (-golden +got); run go test -update if the change is intended:\n%s", path, diff)
				}
			}

			// Applying the plan and planning again shows no changes
			// (PL-6).
			if desired != nil && p.Applyable() {
				again, problems := plan.Make(desired, applyForTest(t, p), plan.Options{})
				if len(problems) != 0 || again.HasChanges() {
					var b bytes.Buffer
					_ = PlanCompact(&b, again, false)
					t.Errorf("plan after apply is not empty:\n%s", b.String())
				}
			}
		})
	}
}

func filesMap(fs []txtar.File) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Name] = string(f.Data)
	}
	return m
}

func TestPlanJSONShape(t *testing.T) {
	prior := applied(t, withSecrets(t, secretKeyOld, "v1"))
	p, _ := plan.Make(withSecrets(t, secretKeyNew, "v1"), prior, plan.Options{})
	var b bytes.Buffer
	if err := PlanJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		FormatVersion   string `json:"format_version"`
		Applyable       *bool  `json:"applyable"`
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions         []string        `json:"actions"`
				Before          map[string]any  `json:"before"`
				After           map[string]any  `json:"after"`
				BeforeSensitive map[string]bool `json:"before_sensitive"`
				AfterSensitive  map[string]bool `json:"after_sensitive"`
			} `json:"change"`
		} `json:"resource_changes"`
		Deployments []any `json:"deployments"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != "1.0" || doc.Applyable == nil || !*doc.Applyable || doc.Deployments == nil {
		t.Errorf("document header = %+v", doc)
	}
	if len(doc.ResourceChanges) != 1 || doc.ResourceChanges[0].Address != "api_key.partner" {
		t.Fatalf("changes = %+v", doc.ResourceChanges)
	}
	c := doc.ResourceChanges[0].Change
	if v, ok := c.Before["value"]; !ok || v != nil || !c.BeforeSensitive["value"] || !c.AfterSensitive["value"] {
		t.Errorf("sensitive value not null and marked: %+v", c)
	}
}

func TestProblemDiagnostics(t *testing.T) {
	rng := &model.Range{Filename: "main.wsgw.hcl", Start: model.Pos{Line: 2, Column: 3, Byte: 10}, End: model.Pos{Line: 2, Column: 9, Byte: 16}}
	diags := ProblemDiagnostics([]*plan.Problem{
		{Severity: plan.SeverityError, Summary: "Deployment not found", Detail: "d", Range: rng},
		{Severity: plan.SeverityWarning, Summary: "w"},
	})
	if len(diags) != 2 || !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 || diags[0].Subject.End.Byte != 16 ||
		diags[1].Subject != nil || diags[1].Severity != hcl.DiagWarning {
		t.Errorf("diagnostics = %+v", diags)
	}
}

func TestLCSDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string // one letter per op: = keep, - delete, + insert
	}{
		{"equal", "abc", "abc", "==="},
		{"insert", "ac", "abc", "=+="},
		{"delete", "abc", "ac", "=-="},
		{"replace", "abc", "axc", "=-+="},
		{"empty to", "", "ab", "++"},
		{"to empty", "ab", "", "--"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got strings.Builder
			for _, op := range lcsDiff(len(tt.a), len(tt.b), func(i, j int) bool { return tt.a[i] == tt.b[j] }) {
				got.WriteByte("=-+"[op.kind])
			}
			if got.String() != tt.want {
				t.Errorf("ops = %s, want %s", got.String(), tt.want)
			}
		})
	}
}
