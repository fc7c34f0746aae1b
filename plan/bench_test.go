package plan

import (
	"fmt"
	"testing"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// largeConfig returns an API with routes routes, integrations integrations
// and three stages, the shape PL-10 measures.
func largeConfig(tb testing.TB, routes, integrations int) *model.Config {
	api := chatAPI(tb, "large")
	api.Integrations = nil
	for i := range integrations {
		api.Integrations = append(api.Integrations, &model.Integration{
			Name: fmt.Sprintf("backend%03d", i), Type: model.IntegrationHTTPProxy,
			URI:    tmpl(tb, fmt.Sprintf("http://127.0.0.1:9000/svc%d/${stageVariables.room_service}", i)),
			Method: "POST", TimeoutMS: 29000, PassthroughBehavior: model.PassthroughWhenNoMatch,
			RequestParameters: map[string]string{"integration.request.header.X-Connection-Id": "context.connectionId"},
		})
	}
	api.Routes = nil
	for i := range routes {
		api.Routes = append(api.Routes, &model.Route{
			Key: fmt.Sprintf("action%04d", i), Integration: fmt.Sprintf("backend%03d", i%integrations),
			Authorization: model.AuthorizationNone, ModelSelectionExpression: "$default",
			RequestModels: map[string]string{"$default": "message"}, TwoWay: i%2 == 0,
		})
	}
	api.Stages = append(api.Stages, &model.Stage{Name: "dev", DefaultRouteSettings: model.DefaultRouteSettings()})
	return &model.Config{APIs: []*model.API{api}}
}

// BenchmarkMakeLarge plans 1,000 routes and 100 integrations (plus three
// stages) from no state: everything is created (PL-10, D-21).
func BenchmarkMakeLarge(b *testing.B) {
	cfg := largeConfig(b, 1000, 100)
	b.ReportAllocs()
	for b.Loop() {
		p, problems := Make(cfg, nil, Options{})
		if len(problems) != 0 || len(p.Changes) != 1000+100+2+1+3+1 {
			b.Fatalf("unexpected plan: %d changes, %v", len(p.Changes), problems)
		}
	}
}

// BenchmarkMakeLargeNoChanges plans the same configuration against the state
// it produced: nothing changes, every object is compared.
func BenchmarkMakeLargeNoChanges(b *testing.B) {
	cfg := largeConfig(b, 1000, 100)
	st := applyForTest(b, mustMake(b, cfg, nil))
	b.ReportAllocs()
	for b.Loop() {
		if p, _ := Make(cfg, st, Options{}); p.HasChanges() {
			b.Fatal("unexpected changes")
		}
	}
}
