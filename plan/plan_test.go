package plan

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// mustMake plans and fails on problems.
func mustMake(t testing.TB, cfg *model.Config, prior *state.State) *Plan {
	t.Helper()
	p, problems := Make(cfg, prior, Options{})
	if len(problems) > 0 {
		t.Fatalf("unexpected problems: %+v", problems[0])
	}
	return p
}

// addresses returns "ACTION ADDRESS" for every change of p.
func addresses(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, strings.Join(c.Actions, ",")+" "+c.Address)
	}
	return out
}

func change(p *Plan, addr string) *ResourceChange {
	for _, c := range p.Changes {
		if c.Address == addr {
			return c
		}
	}
	return nil
}

func TestDeploymentIDFormatAndStability(t *testing.T) {
	// The canonical form must not change between releases: existing
	// deployments would no longer be recognised and every stage would move.
	// This id is the SHA-256 of the canonical form below (checked with
	// sha256sum); update it only
	// with a state migration.
	snap := model.DeploymentSnapshot{
		RouteSelectionExpression:  "$request.body.action",
		APIKeySelectionExpression: "$request.header.x-api-key",
		Routes:                    []*model.Route{{Key: "$default", Authorization: "NONE"}},
	}
	id := DeploymentID(snap)
	if !regexp.MustCompile(`^d-[0-9a-f]{10}$`).MatchString(id) {
		t.Fatalf("DeploymentID = %q, want d- and 10 hex digits", id)
	}
	if got, want := string(canonicalSnapshot(snap)), `{"api_key_selection_expression":"$request.header.x-api-key","route_selection_expression":"$request.body.action","routes":[{"authorization":"NONE","key":"$default"}]}`; got != want {
		t.Errorf("canonical form\n got %s\nwant %s", got, want)
	}
	if want := "d-6759413ccd"; id != want {
		t.Errorf("DeploymentID = %s, want %s (the canonical form changed)", id, want)
	}
	// Nil and empty collections, and meta, do not matter.
	snap2 := snap
	snap2.Integrations = []*model.Integration{}
	snap2.Routes = []*model.Route{{Key: "$default", Authorization: "NONE", RequestModels: map[string]string{}, Meta: model.Meta{Sensitive: []string{"x"}}}}
	if DeploymentID(snap2) != id {
		t.Error("empty collections or meta change the id")
	}
}

func TestSameContentSameID(t *testing.T) {
	// Two plans of the same configuration from empty state, as on two
	// machines, produce the same ids; so do two APIs that differ only in
	// name and description (D-17).
	p1 := mustMake(t, chatConfig(t), nil)
	p2 := mustMake(t, chatConfig(t), nil)
	if len(p1.Deployments) != 1 || len(p2.Deployments) != 1 {
		t.Fatalf("deployments: %+v / %+v", p1.Deployments, p2.Deployments)
	}
	if p1.Deployments[0].ID != p2.Deployments[0].ID {
		t.Errorf("ids differ: %s vs %s", p1.Deployments[0].ID, p2.Deployments[0].ID)
	}
	other := chatAPI(t, "other")
	other.Description = "another API"
	other.Stages[0].Variables["room_service"] = "elsewhere"
	slices.Reverse(other.Routes) // input order does not matter either
	p3 := mustMake(t, &model.Config{APIs: []*model.API{other}}, nil)
	if p3.Deployments[0].ID != p1.Deployments[0].ID {
		t.Errorf("same content in another API: %s vs %s", p3.Deployments[0].ID, p1.Deployments[0].ID)
	}
	cfg := chatConfig(t)
	cfg.APIs[0].Routes[2].TwoWay = false
	if p4 := mustMake(t, cfg, nil); p4.Deployments[0].ID == p1.Deployments[0].ID {
		t.Error("different content, same id")
	}
}

func TestFirstApply(t *testing.T) {
	p := mustMake(t, chatConfig(t), nil)
	add, chg, del := p.Counts()
	// api, integration, authorizer, model, 3 routes, deployment, 2 stages.
	if add != 10 || chg != 0 || del != 0 {
		t.Errorf("counts = %d/%d/%d, want 10/0/0: %v", add, chg, del, addresses(p))
	}
	id := p.Deployments[0].ID
	want := []string{
		`create api.chat`,
		`create api.chat.integration["backend"]`,
		`create api.chat.authorizer["tokens"]`,
		`create api.chat.model["message"]`,
		`create api.chat.route["$connect"]`,
		`create api.chat.route["$disconnect"]`,
		`create api.chat.route["sendmessage"]`,
		`create api.chat.deployment["` + id + `"]`,
		`create api.chat.stage["prod"]`,
		`create api.chat.stage["test"]`,
	}
	if diff := cmp.Diff(want, addresses(p)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	wantDep := &DeploymentChange{API: "chat", ID: id, Action: DeploymentCreate,
		TriggeredBy: []string{`api.chat`, `api.chat.route["$connect"]`, `api.chat.route["$disconnect"]`, `api.chat.route["sendmessage"]`,
			`api.chat.integration["backend"]`, `api.chat.authorizer["tokens"]`, `api.chat.model["message"]`},
		Stages: []string{"prod", "test"}}
	if diff := cmp.Diff(wantDep, p.Deployments[0]); diff != "" {
		t.Errorf("deployment (-want +got):\n%s", diff)
	}
	if p.PriorLineage != "" || p.PriorSerial != 0 || p.NewState.Serial != 0 || p.NewState.Lineage != "" {
		t.Errorf("prior/new serial not zero: %+v", p)
	}
	api := p.NewState.APIs[0]
	if api.ID != "" || api.Deployments[0].CreatedAt.IsZero() == false || api.StageDeployments["prod"] != id {
		t.Errorf("new state api = %+v", api)
	}
	if got := change(p, `api.chat.stage["prod"]`).After["deployment_id"]; got != id {
		t.Errorf("stage deployment_id = %v", got)
	}
}

func TestIdempotent(t *testing.T) {
	configs := map[string]func() *model.Config{
		"chat":  func() *model.Config { return chatConfig(t) },
		"empty": func() *model.Config { return &model.Config{} },
		"no stages": func() *model.Config {
			c := chatConfig(t)
			c.APIs[0].Stages = nil
			return c
		},
		"top level": func() *model.Config {
			c := chatConfig(t)
			c.APIKeys = []*model.APIKey{{Name: "k", Value: "0123456789abcdefghij", Enabled: true}}
			c.Credentials = []*model.Credentials{{Name: "ci", AccessKeyID: "AKID", SecretAccessKey: "s3cret"}}
			c.UsagePlans = []*model.UsagePlan{{Name: "basic", Stages: []model.UsagePlanStage{{API: "chat", Stage: "prod"}}, APIKeys: []string{"k"}, Quota: &model.Quota{Limit: 100, Period: "DAY"}}}
			c.DomainNames = []*model.DomainName{{Host: "ws.example.com", Mappings: []model.Mapping{{BasePath: "", API: "chat", Stage: "prod"}}}}
			return c
		},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			st := applyForTest(t, mustMake(t, cfg(), nil))
			p := mustMake(t, cfg(), st)
			if p.HasChanges() || len(p.Deployments) != 0 {
				t.Fatalf("second plan has changes: %v %+v", addresses(p), p.Deployments)
			}
			// The proposed state equals the applied one apart from what
			// apply fills in.
			if diff := cmp.Diff(st, p.NewState); diff != "" {
				t.Errorf("NewState differs from the applied state (-applied +new):\n%s", diff)
			}
		})
	}
}

func TestStageSettingsNeverDeploy(t *testing.T) {
	edits := map[string]func(s *model.Stage){
		"variables":  func(s *model.Stage) { s.Variables["room_service"] = "halls" },
		"throttling": func(s *model.Stage) { s.DefaultRouteSettings.ThrottlingRateLimit = 5 },
		"logging":    func(s *model.Stage) { s.DefaultRouteSettings.LoggingLevel = model.LoggingInfo },
		"access log": func(s *model.Stage) {
			s.AccessLog = &model.AccessLog{Destination: "stdout", Format: "$context.requestId"}
		},
		"description": func(s *model.Stage) { s.Description = "production" },
		"route settings": func(s *model.Stage) {
			s.RouteSettings = map[string]model.RouteSettings{"sendmessage": {ThrottlingRateLimit: 50, ThrottlingBurstLimit: 5000, LoggingLevel: "OFF"}}
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			st := applyForTest(t, mustMake(t, chatConfig(t), nil))
			cfg := chatConfig(t)
			edit(cfg.APIs[0].Stages[0])
			p := mustMake(t, cfg, st)
			if diff := cmp.Diff([]string{`update api.chat.stage["prod"]`}, addresses(p)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if len(p.Deployments) != 0 || change(p, `api.chat.stage["prod"]`).Reason != "" {
				t.Errorf("a stage setting moved a deployment: %+v", p.Deployments)
			}
		})
	}
}

func TestRevertReusesDeployment(t *testing.T) {
	st1 := applyForTest(t, mustMake(t, chatConfig(t), nil))
	first := st1.APIs[0].Deployments[0].ID
	cfg := chatConfig(t)
	cfg.APIs[0].Integrations[0].TimeoutMS = 5000
	p2 := mustMake(t, cfg, st1)
	second := p2.Deployments[0].ID
	if p2.Deployments[0].Action != DeploymentCreate || second == first {
		t.Fatalf("change did not create a deployment: %+v", p2.Deployments)
	}
	if got := p2.Deployments[0].TriggeredBy; !slices.Equal(got, []string{`api.chat.integration["backend"]`}) {
		t.Errorf("triggered by %v", got)
	}
	st2 := applyForTest(t, p2)

	p3 := mustMake(t, chatConfig(t), st2)
	want := []*DeploymentChange{{API: "chat", ID: first, Action: DeploymentReuse,
		TriggeredBy: []string{`api.chat.integration["backend"]`}, Stages: []string{"prod", "test"}}}
	if diff := cmp.Diff(want, p3.Deployments); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`update api.chat.integration["backend"]`, `update api.chat.stage["prod"]`, `update api.chat.stage["test"]`}, addresses(p3)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if got, want := change(p3, `api.chat.stage["prod"]`).Reason, fmt.Sprintf("deployment %q → %q", second, first); got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	st3 := applyForTest(t, p3)
	if n := len(st3.APIs[0].Deployments); n != 2 {
		t.Errorf("history has %d deployments, want 2", n)
	}
	// After the revert, a new change is compared with what the stages run.
	cfg = chatConfig(t)
	cfg.APIs[0].Models[0].Schema = `{"type":"string"}`
	p4 := mustMake(t, cfg, st3)
	if got := p4.Deployments[0].TriggeredBy; !slices.Equal(got, []string{`api.chat.model["message"]`}) {
		t.Errorf("triggered by %v", got)
	}
}

func TestPinnedStageStays(t *testing.T) {
	st1 := applyForTest(t, mustMake(t, chatConfig(t), nil))
	first := st1.APIs[0].Deployments[0].ID
	cfg := chatConfig(t)
	cfg.APIs[0].Stages[0].Deployment = first // prod pinned
	cfg.APIs[0].Routes[2].TwoWay = false
	p := mustMake(t, cfg, st1)
	second := p.Deployments[0].ID
	if diff := cmp.Diff([]*DeploymentChange{{API: "chat", ID: second, Action: DeploymentCreate,
		TriggeredBy: []string{`api.chat.route["sendmessage"]`}, Stages: []string{"test"}}}, p.Deployments); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	runs := p.NewState.APIs[0].StageDeployments
	if runs["prod"] != first || runs["test"] != second {
		t.Errorf("stage deployments %v", runs)
	}
	// Pinning to the deployment this plan creates is allowed.
	cfg = chatConfig(t)
	cfg.APIs[0].Routes[2].TwoWay = false
	cfg.APIs[0].Stages[0].Deployment = second
	if _, problems := Make(cfg, st1, Options{}); len(problems) != 0 {
		t.Errorf("pin to the new deployment: %+v", problems[0])
	}
	// Promote: prod moves to an existing deployment by its pin.
	st2 := applyForTest(t, p)
	cfg = chatConfig(t)
	cfg.APIs[0].Routes[2].TwoWay = false
	cfg.APIs[0].Stages[0].Deployment = second
	p3 := mustMake(t, cfg, st2)
	if diff := cmp.Diff([]*DeploymentChange{{API: "chat", ID: second, Action: DeploymentReuse,
		TriggeredBy: []string{`api.chat.stage["prod"]`}, Stages: []string{"prod"}}}, p3.Deployments); diff != "" {
		t.Errorf("promote deployments (-want +got):\n%s", diff)
	}
}

func TestMissingPin(t *testing.T) {
	st := applyForTest(t, mustMake(t, chatConfig(t), nil))
	cfg := chatConfig(t)
	cfg.APIs[0].Stages[0].Deployment = "d-0123456789"
	rng := model.Range{Filename: "main.wsgw.hcl", Start: model.Pos{Line: 3, Column: 18, Byte: 40}, End: model.Pos{Line: 3, Column: 32, Byte: 54}}
	cfg.APIs[0].Stages[0].DeploymentRange = rng
	p, problems := Make(cfg, st, Options{})
	if len(problems) != 1 || p.Applyable() {
		t.Fatalf("problems = %+v, applyable %v", problems, p.Applyable())
	}
	pr := problems[0]
	if pr.Summary != "Deployment not found" || pr.Severity != SeverityError || pr.Range == nil || *pr.Range != rng {
		t.Errorf("problem = %+v", pr)
	}
	for _, want := range []string{`"d-0123456789"`, st.APIs[0].Deployments[0].ID, "wsgwctl deployments chat"} {
		if !strings.Contains(pr.Detail, want) {
			t.Errorf("detail %q lacks %q", pr.Detail, want)
		}
	}
	// Without state there is nothing to pin to.
	if _, problems := Make(cfg, nil, Options{}); len(problems) != 1 || !strings.Contains(problems[0].Detail, "no deployments yet") {
		t.Errorf("fresh plan problems = %+v", problems)
	}
}

func TestHistoryPruning(t *testing.T) {
	var st *state.State
	var ids []string
	for i := range 11 {
		cfg := chatConfig(t)
		cfg.APIs[0].Integrations[0].TimeoutMS = 1000 + i
		p := mustMake(t, cfg, st)
		ids = append(ids, p.Deployments[0].ID)
		if i < 10 {
			if _, _, del := p.Counts(); del != 0 {
				t.Fatalf("plan %d destroys %d", i, del)
			}
		}
		if i == 10 {
			want := []string{
				`update api.chat.integration["backend"]`,
				`delete api.chat.deployment["` + ids[0] + `"]`,
				`create api.chat.deployment["` + ids[10] + `"]`,
				`update api.chat.stage["prod"]`,
				`update api.chat.stage["test"]`,
			}
			slices.SortStableFunc(want[1:3], func(a, b string) int { return strings.Compare(a[7:], b[7:]) })
			if diff := cmp.Diff(want, addresses(p)); diff != "" {
				t.Errorf("11th plan (-want +got):\n%s", diff)
			}
			if add, chg, del := p.Counts(); add != 1 || chg != 3 || del != 1 {
				t.Errorf("counts %d/%d/%d", add, chg, del)
			}
		}
		st = applyForTest(t, p)
	}
	var got []string
	for _, d := range st.APIs[0].Deployments {
		got = append(got, d.ID)
	}
	if diff := cmp.Diff(ids[1:], got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	// A pinned old deployment survives pruning.
	st = nil
	for i := range 12 {
		cfg := chatConfig(t)
		cfg.APIs[0].Integrations[0].TimeoutMS = 1000 + i
		if i > 0 {
			cfg.APIs[0].Stages[0].Deployment = ids[0]
		}
		st = applyForTest(t, mustMake(t, cfg, st))
	}
	if d := st.APIs[0].Deployment(ids[0]); d == nil || len(st.APIs[0].Deployments) != 11 {
		t.Errorf("pinned deployment pruned, or history wrong: %d deployments", len(st.APIs[0].Deployments))
	}
}

func TestRenameAndDelete(t *testing.T) {
	st := applyForTest(t, mustMake(t, chatConfig(t), nil))
	id := st.APIs[0].Deployments[0].ID
	renamed := &model.Config{APIs: []*model.API{chatAPI(t, "rooms")}}
	p := mustMake(t, renamed, st)
	add, _, del := p.Counts()
	if add != 10 || del != 10 {
		t.Errorf("rename counts add %d destroy %d: %v", add, del, addresses(p))
	}
	if c := change(p, `api.chat.deployment["`+id+`"]`); c == nil || c.Action() != ActionDelete {
		t.Errorf("old deployment not deleted: %v", addresses(p))
	}
	if p.NewState.APIs[0].ID != "" || p.NewState.APIs[0].Config.Name != "rooms" || len(p.NewState.APIs) != 1 {
		t.Errorf("renamed api in new state: %+v", p.NewState.APIs[0])
	}
	// The same content keeps its deployment id under the new name.
	if p.Deployments[0].ID != id {
		t.Errorf("renamed api has deployment %s, want %s", p.Deployments[0].ID, id)
	}

	p = mustMake(t, &model.Config{}, st)
	if _, _, del := p.Counts(); del != 10 || len(p.NewState.APIs) != 0 {
		t.Errorf("delete: %v", addresses(p))
	}
}

func TestSensitiveMasking(t *testing.T) {
	cfg := chatConfig(t)
	cfg.APIKeys = []*model.APIKey{{Name: "k", Value: "0123456789abcdefghij", Enabled: true}}
	cfg.APIs[0].Integrations[0].Meta.Sensitive = []string{"response", "uri"}
	cfg.APIs[0].Integrations[0].Responses = []*model.IntegrationResponse{{Key: "$default"}}
	st := applyForTest(t, mustMake(t, cfg, nil))

	cfg = chatConfig(t)
	cfg.APIKeys = []*model.APIKey{{Name: "k", Value: "abcdefghij0123456789", Enabled: true}}
	cfg.APIs[0].Integrations[0].URI = tmpl(t, "http://127.0.0.1:9000/?token=hunter2")
	cfg.APIs[0].Integrations[0].Meta.Sensitive = []string{"response", "uri"}
	cfg.APIs[0].Integrations[0].Responses = []*model.IntegrationResponse{{Key: "$default"}}
	cfg.APIs[0].Integrations[0].TimeoutMS = 100
	p := mustMake(t, cfg, st)

	key := change(p, "api_key.k")
	if key.Before["value"] != nil || key.After["value"] != nil || !key.BeforeSensitive["value"] || !key.AfterSensitive["value"] {
		t.Errorf("api key change not masked: %+v", key)
	}
	if !slices.Equal(key.SensitiveChanged, []string{"value"}) {
		t.Errorf("SensitiveChanged = %v", key.SensitiveChanged)
	}
	integ := change(p, `api.chat.integration["backend"]`)
	if integ.After["uri"] != nil || integ.Before["uri"] != nil || !integ.AfterSensitive["responses"] || integ.After["timeout_ms"] == nil {
		t.Errorf("integration change not masked: %+v", integ)
	}
	if !slices.Equal(integ.SensitiveChanged, []string{"uri"}) {
		t.Errorf("SensitiveChanged = %v", integ.SensitiveChanged)
	}
	for _, c := range p.Changes {
		if s := fmt.Sprint(c.Before, c.After); strings.Contains(s, "hunter2") || strings.Contains(s, "0123456789abcdefghij") || strings.Contains(s, "abcdefghij0123456789") {
			t.Errorf("secret in change %s: %s", c.Address, s)
		}
	}
}

func TestMakeDoesNotModifyInputs(t *testing.T) {
	st := applyForTest(t, mustMake(t, chatConfig(t), nil))
	before := st.Clone()
	cfg := chatConfig(t)
	cfg.APIs[0].Routes = cfg.APIs[0].Routes[:2]
	cfg.APIs[0].Stages[1].Description = "x"
	wantCfg := chatConfig(t)
	wantCfg.APIs[0].Routes = wantCfg.APIs[0].Routes[:2]
	wantCfg.APIs[0].Stages[1].Description = "x"
	p := mustMake(t, cfg, st)
	if diff := cmp.Diff(before, st); diff != "" {
		t.Errorf("Make changed the prior state:\n%s", diff)
	}
	if diff := cmp.Diff(wantCfg, cfg); diff != "" {
		t.Errorf("Make changed the desired config:\n%s", diff)
	}
	again := mustMake(t, cfg, st)
	if diff := cmp.Diff(p, again); diff != "" {
		t.Errorf("Make is not deterministic:\n%s", diff)
	}
}

func TestSelectionExpressionTriggersAPI(t *testing.T) {
	st := applyForTest(t, mustMake(t, chatConfig(t), nil))
	cfg := chatConfig(t)
	cfg.APIs[0].RouteSelectionExpression = "$request.body.type"
	cfg.APIs[0].Description = "descriptions never deploy"
	p := mustMake(t, cfg, st)
	if got := p.Deployments[0].TriggeredBy; !slices.Equal(got, []string{"api.chat"}) {
		t.Errorf("triggered by %v", got)
	}
	if got := change(p, fmt.Sprintf(`api.chat.deployment[%q]`, p.Deployments[0].ID)).Reason; got != `triggered by: api "chat"` {
		t.Errorf("reason %q", got)
	}
	cfg = chatConfig(t)
	cfg.APIs[0].Description = "descriptions never deploy"
	if p := mustMake(t, cfg, st); len(p.Deployments) != 0 || !slices.Equal(addresses(p), []string{"update api.chat"}) {
		t.Errorf("description change: %v %+v", addresses(p), p.Deployments)
	}
}

// TestSensitiveRememberedInState checks that an attribute marked sensitive
// when it was applied stays masked after the configuration that marked it is
// gone: the object is destroyed, or the mark is dropped (D-20).
func TestSensitiveRememberedInState(t *testing.T) {
	cfg := chatConfig(t)
	cfg.APIs[0].Integrations[0].URI = tmpl(t, "http://127.0.0.1:9000/?token=hunter2")
	cfg.APIs[0].Integrations[0].Meta.Sensitive = []string{"uri"}
	p := mustMake(t, cfg, nil)
	addr := `api.chat.integration["backend"]`
	if got := p.NewState.Sensitive[addr]; !slices.Equal(got, []string{"uri"}) {
		t.Fatalf("NewState.Sensitive[%s] = %v, want [uri]", addr, got)
	}
	st := applyForTest(t, p)

	for name, desired := range map[string]*model.Config{
		"destroyed":    {},
		"mark dropped": chatConfig(t),
	} {
		t.Run(name, func(t *testing.T) {
			p := mustMake(t, desired, st)
			c := change(p, addr)
			if c == nil {
				t.Fatalf("no change for %s", addr)
			}
			if c.Before["uri"] != nil || !c.BeforeSensitive["uri"] {
				t.Errorf("before uri not masked: %+v", c)
			}
			if c.After != nil && (c.After["uri"] != nil || !c.AfterSensitive["uri"]) {
				t.Errorf("after uri not masked: %+v", c)
			}
			for _, c := range p.Changes {
				if strings.Contains(fmt.Sprint(c.Before, c.After), "hunter2") {
					t.Errorf("secret in change %s", c.Address)
				}
			}
		})
	}
}
