package examples

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsgwctl/wsgwctl/config"
	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/plan"
)

// exampleDirs returns every directory under the examples folder that holds at
// least one configuration file, relative to the test's working directory.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), config.ConfigFileSuffix) {
			dir := filepath.Dir(path)
			if !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk examples: %v", err)
	}
	if len(dirs) == 0 {
		t.Fatal("found no example configurations")
	}
	return dirs
}

// TestExamplesAreValid loads every example with its variables' defaults and
// requires that it produces no diagnostic at all, warnings included.
func TestExamplesAreValid(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		t.Run(filepath.ToSlash(dir), func(t *testing.T) {
			loaded, diags := config.Load(dir, config.LoadOptions{})
			for _, d := range diags {
				t.Errorf("%s", d.Error())
			}
			if loaded == nil || loaded.Config == nil {
				t.Fatal("Load returned no configuration")
			}
			if len(loaded.Config.APIs) == 0 {
				t.Error("example defines no api")
			}
		})
	}
}

// TestExamplesPlanFromScratch requires that every example can be planned
// (and so applied) on a fresh machine with no state: in particular that the
// multistage example's prod pin names the deployment its first apply creates.
func TestExamplesPlanFromScratch(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		t.Run(filepath.ToSlash(dir), func(t *testing.T) {
			loaded, diags := config.Load(dir, config.LoadOptions{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			p, problems := plan.Make(loaded.Config, nil, plan.Options{})
			for _, pr := range problems {
				t.Errorf("%s: %s", pr.Summary, pr.Detail)
			}
			if !p.HasChanges() {
				t.Error("a first plan has no changes")
			}
		})
	}
}

// TestExamplesAreFormatted requires every configuration file of every example
// to be in the canonical layout of `wsgwctl fmt`.
func TestExamplesAreFormatted(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		names, err := filepath.Glob(filepath.Join(dir, "*"+config.ConfigFileSuffix))
		if err != nil {
			t.Fatalf("list %s: %v", dir, err)
		}
		for _, name := range names {
			t.Run(filepath.ToSlash(name), func(t *testing.T) {
				src, err := os.ReadFile(name)
				if err != nil {
					t.Fatalf("read example: %v", err)
				}
				got, diags := config.Format(src, name)
				if diags.HasErrors() {
					t.Fatalf("format: %s", diags.Error())
				}
				if !bytes.Equal(got, src) {
					t.Errorf("%s is not canonically formatted; run `wsgwctl fmt examples/%s`", name, filepath.ToSlash(name))
				}
			})
		}
	}
}

// TestExampleModels spot-checks what the examples decode to, so that an
// example that silently stops meaning what its comments say fails.
func TestExampleModels(t *testing.T) {
	tests := []struct {
		dir   string
		check func(t *testing.T, cfg *model.Config)
	}{
		{"chat", checkChat},
		{"authorizer", checkAuthorizer},
		{"multistage", checkMultistage},
		{"lambda", checkLambda},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			loaded, diags := config.Load(tt.dir, config.LoadOptions{})
			if diags.HasErrors() {
				t.Fatalf("load: %s", diags.Error())
			}
			tt.check(t, loaded.Config)
		})
	}
}

func checkChat(t *testing.T, cfg *model.Config) {
	api := onlyAPI(t, cfg, "chat")
	if api.RouteSelectionExpression != "$request.body.action" {
		t.Errorf("route_selection_expression = %q", api.RouteSelectionExpression)
	}
	if got, want := routeKeys(api), []string{"$connect", "$default", "$disconnect", "joinroom", "sendmessage"}; !slices.Equal(got, want) {
		t.Errorf("routes = %q, want %q", got, want)
	}
	send := route(t, api, "sendmessage")
	if !send.TwoWay {
		t.Error("sendmessage is not two-way")
	}
	if send.RequestModels["$default"] != "message" || send.ModelSelectionExpression != "$default" {
		t.Errorf("sendmessage models = %q with selection %q, want $default → message", send.RequestModels, send.ModelSelectionExpression)
	}
	if route(t, api, "$connect").TwoWay {
		t.Error("$connect is two-way")
	}
	for _, in := range api.Integrations {
		if in.Type != model.IntegrationHTTPProxy {
			t.Errorf("integration %s has type %s, want HTTP_PROXY", in.Name, in.Type)
		}
		if uri := in.URI.Literal(); !strings.HasPrefix(uri, "http://127.0.0.1:9000/") {
			t.Errorf("integration %s uri = %q, want the backend_url default as prefix", in.Name, uri)
		}
	}
	msg := modelNamed(t, api, "message")
	if !strings.Contains(msg.Schema, `"maxLength": 2000`) {
		t.Errorf("templatefile did not fill max_length into the message schema:\n%s", msg.Schema)
	}
	dev := stage(t, api, "dev")
	if dev.Deployment != "" {
		t.Errorf("dev is pinned to %q", dev.Deployment)
	}
	if dev.AccessLog == nil || dev.AccessLog.Destination != "stdout" {
		t.Errorf("dev access_log = %+v, want destination stdout", dev.AccessLog)
	}
}

func checkAuthorizer(t *testing.T, cfg *model.Config) {
	api := onlyAPI(t, cfg, "orders")
	connect := route(t, api, "$connect")
	if connect.Authorization != model.AuthorizationCustom || connect.Authorizer != "session" || !connect.APIKeyRequired {
		t.Errorf("$connect authorization=%q authorizer=%q api_key_required=%v, want CUSTOM session true",
			connect.Authorization, connect.Authorizer, connect.APIKeyRequired)
	}
	for _, r := range api.Routes {
		if r.Key != model.RouteConnect && (r.Authorization != model.AuthorizationNone || r.APIKeyRequired) {
			t.Errorf("route %s has authorization %q, api_key_required %v", r.Key, r.Authorization, r.APIKeyRequired)
		}
	}
	if len(api.Authorizers) != 1 {
		t.Fatalf("authorizers = %d, want 1", len(api.Authorizers))
	}
	auth := api.Authorizers[0]
	if auth.Type != "REQUEST" || auth.ResultTTLSeconds != 300 {
		t.Errorf("authorizer type=%q result_ttl_seconds=%d", auth.Type, auth.ResultTTLSeconds)
	}
	wantSources := []string{"route.request.querystring.token", "route.request.header.X-Client-Id"}
	if !slices.Equal(auth.IdentitySources, wantSources) {
		t.Errorf("identity_sources = %q, want %q", auth.IdentitySources, wantSources)
	}
	if len(cfg.APIKeys) != 2 {
		t.Fatalf("api keys = %d, want 2", len(cfg.APIKeys))
	}
	for _, k := range cfg.APIKeys {
		if len(k.Value) < 20 || !k.Enabled {
			t.Errorf("api_key %s: value of %d characters, enabled %v", k.Name, len(k.Value), k.Enabled)
		}
	}
	if len(cfg.UsagePlans) != 1 {
		t.Fatalf("usage plans = %d, want 1", len(cfg.UsagePlans))
	}
	plan := cfg.UsagePlans[0]
	if !slices.Equal(plan.Stages, []model.UsagePlanStage{{API: "orders", Stage: "live"}}) {
		t.Errorf("usage plan stages = %+v", plan.Stages)
	}
	if plan.Throttle == nil || plan.Quota == nil || plan.Quota.Period != "MONTH" {
		t.Errorf("usage plan throttle = %+v, quota = %+v", plan.Throttle, plan.Quota)
	}
	keys := slices.Clone(plan.APIKeys)
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"mobile", "partner"}) {
		t.Errorf("usage plan keys = %q", plan.APIKeys)
	}
}

func checkMultistage(t *testing.T, cfg *model.Config) {
	api := onlyAPI(t, cfg, "inventory")
	if got, want := stageNames(api), []string{"dev", "prod", "staging"}; !slices.Equal(got, want) {
		t.Fatalf("stages = %q, want %q", got, want)
	}
	service := integration(t, api, "service")
	if got, want := service.URI.Literal(), "http://127.0.0.1:9000/${stageVariables.service}"; got != want {
		t.Errorf("service uri = %q, want %q", got, want)
	}
	if service.URI.IsStatic() {
		t.Error("service uri has no stage variable reference")
	}

	prod := stage(t, api, "prod")
	if prod.Deployment != "d-4ad15a6624" {
		t.Errorf("prod deployment = %q, want the pin d-4ad15a6624", prod.Deployment)
	}
	if prod.Variables["service"] != "inventory" || prod.Variables["environment"] != "prod" {
		t.Errorf("prod variables = %q", prod.Variables)
	}
	connect, ok := prod.RouteSettings["$connect"]
	if !ok || connect.ThrottlingRateLimit != 50 || connect.ThrottlingBurstLimit != 100 {
		t.Errorf("prod $connect route settings = %+v (present %v)", connect, ok)
	}
	update := prod.RouteSettings["updatestock"]
	if update.LoggingLevel != model.LoggingInfo || !update.DetailedMetricsEnabled {
		t.Errorf("prod updatestock settings = %+v, want INFO and detailed metrics inherited from the defaults", update)
	}
	for _, name := range []string{"dev", "staging"} {
		if s := stage(t, api, name); s.Deployment != "" {
			t.Errorf("stage %s is pinned to %q", name, s.Deployment)
		}
	}

	pong := integration(t, api, "pong")
	if pong.Type != model.IntegrationMock || !pong.URI.IsZero() {
		t.Errorf("pong type=%q uri=%q, want MOCK without uri", pong.Type, pong.URI.Literal())
	}
	if len(pong.Responses) != 1 || pong.Responses[0].Key != "$default" {
		t.Fatalf("pong responses = %+v", pong.Responses)
	}
	tmpl := pong.Responses[0].Templates["$default"].Literal()
	for _, want := range []string{"${context.connectionId}", "${jsonencode(request.body)}", "${stageVariables.environment}"} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("pong response template %q lacks %s", tmpl, want)
		}
	}
	if !route(t, api, "ping").TwoWay {
		t.Error("ping is not two-way")
	}
}

func checkLambda(t *testing.T, cfg *model.Config) {
	api := onlyAPI(t, cfg, "notifications")
	for _, in := range api.Integrations {
		if in.Type != model.IntegrationAWSProxy {
			t.Errorf("integration %s has type %s, want AWS_PROXY", in.Name, in.Type)
		}
		if uri := in.URI.Literal(); !strings.HasSuffix(uri, "/2015-03-31/functions/function/invocations") {
			t.Errorf("integration %s uri = %q, want the emulator's invoke path", in.Name, uri)
		}
	}
}

func onlyAPI(t *testing.T, cfg *model.Config, name string) *model.API {
	t.Helper()
	if len(cfg.APIs) != 1 || cfg.APIs[0].Name != name {
		t.Fatalf("apis = %d, want exactly %q", len(cfg.APIs), name)
	}
	return cfg.APIs[0]
}

func routeKeys(api *model.API) []string {
	var keys []string
	for _, r := range api.Routes {
		keys = append(keys, r.Key)
	}
	slices.Sort(keys)
	return keys
}

func stageNames(api *model.API) []string {
	var names []string
	for _, s := range api.Stages {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

func route(t *testing.T, api *model.API, key string) *model.Route {
	t.Helper()
	for _, r := range api.Routes {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("api %s has no route %q", api.Name, key)
	return nil
}

func integration(t *testing.T, api *model.API, name string) *model.Integration {
	t.Helper()
	for _, in := range api.Integrations {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("api %s has no integration %q", api.Name, name)
	return nil
}

func modelNamed(t *testing.T, api *model.API, name string) *model.Model {
	t.Helper()
	for _, m := range api.Models {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("api %s has no model %q", api.Name, name)
	return nil
}

func stage(t *testing.T, api *model.API, name string) *model.Stage {
	t.Helper()
	for _, s := range api.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("api %s has no stage %q", api.Name, name)
	return nil
}
