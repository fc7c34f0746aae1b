package plan

import (
	"testing"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
	"github.com/wsgwctl/wsgwctl/state/statetest"
)

// applyForTest does what apply does with p.NewState, deterministically: API
// ids derived from the API's name, deployment times from the serial, and
// the first state's lineage fixed.
func applyForTest(t testing.TB, p *Plan) *state.State {
	t.Helper()
	if !p.Applyable() {
		t.Fatalf("plan is not applyable: %+v", p.Problems)
	}
	return statetest.Apply(t, p.NewState)
}

func tmpl(t testing.TB, s string) model.Template {
	t.Helper()
	tp, err := model.ParseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// chatConfig returns a configuration with one API "chat": three routes, an
// integration, an authorizer, a model and two unpinned stages, defaults
// filled in as config does.
func chatConfig(t testing.TB) *model.Config {
	t.Helper()
	return &model.Config{APIs: []*model.API{chatAPI(t, "chat")}}
}

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
		Models: []*model.Model{{Name: "message", Schema: `{"type":"object"}`, ContentType: "application/json"}},
		Routes: []*model.Route{
			{Key: "$connect", Integration: "backend", Authorization: model.AuthorizationCustom, Authorizer: "tokens"},
			{Key: "$disconnect", Integration: "backend", Authorization: model.AuthorizationNone},
			{Key: "sendmessage", Integration: "backend", Authorization: model.AuthorizationNone,
				ModelSelectionExpression: "$default", RequestModels: map[string]string{"$default": "message"}, TwoWay: true},
		},
		Stages: []*model.Stage{
			{Name: "prod", Variables: map[string]string{"room_service": "rooms"}, DefaultRouteSettings: model.DefaultRouteSettings()},
			{Name: "test", Variables: map[string]string{"room_service": "rooms"}, DefaultRouteSettings: model.DefaultRouteSettings()},
		},
	}
}
