package views

import (
	"fmt"
	"io"
	"testing"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/plan"
)

// largeConfig returns an API with 1,000 routes, 100 integrations and three
// stages, the configuration PL-10 measures.
func largeConfig(tb testing.TB) *model.Config {
	api := chatAPI(tb, "large")
	api.Integrations = nil
	for i := range 100 {
		api.Integrations = append(api.Integrations, &model.Integration{
			Name: fmt.Sprintf("backend%03d", i), Type: model.IntegrationHTTPProxy,
			URI:    tmpl(tb, fmt.Sprintf("http://127.0.0.1:9000/svc%d/${stageVariables.room_service}", i)),
			Method: "POST", TimeoutMS: 29000, PassthroughBehavior: model.PassthroughWhenNoMatch,
			RequestParameters: map[string]string{"integration.request.header.X-Connection-Id": "context.connectionId"},
		})
	}
	api.Routes = nil
	for i := range 1000 {
		api.Routes = append(api.Routes, &model.Route{
			Key: fmt.Sprintf("action%04d", i), Integration: fmt.Sprintf("backend%03d", i%100),
			Authorization: model.AuthorizationNone, ModelSelectionExpression: "$default",
			RequestModels: map[string]string{"$default": "message"}, TwoWay: i%2 == 0,
		})
	}
	api.Stages = append(api.Stages, &model.Stage{Name: "dev", DefaultRouteSettings: model.DefaultRouteSettings()})
	return &model.Config{APIs: []*model.API{api}}
}

// BenchmarkPlanAndRenderLarge measures PL-10 as D-21 states it: a fresh plan
// (everything to create) of 1,000 routes and 100 integrations, rendered for
// people to a discarding writer.
func BenchmarkPlanAndRenderLarge(b *testing.B) {
	cfg := largeConfig(b)
	b.ReportAllocs()
	for b.Loop() {
		p, problems := plan.Make(cfg, nil, plan.Options{})
		if len(problems) != 0 {
			b.Fatal(problems[0].Detail)
		}
		if err := PlanHuman(io.Discard, p, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderHumanLarge measures the human rendering alone.
func BenchmarkRenderHumanLarge(b *testing.B) {
	p, _ := plan.Make(largeConfig(b), nil, plan.Options{})
	b.ReportAllocs()
	for b.Loop() {
		if err := PlanHuman(io.Discard, p, true); err != nil {
			b.Fatal(err)
		}
	}
}
