package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// benchStage is the stage every benchmark API serves.
const benchStage = "bench"

// Names of the benchmark APIs; each serves ws://ADDR/NAME/bench.
const (
	apiMock   = "mock"   // W1, W2, W8: MOCK echo routes
	apiHTTP   = "http"   // W3: HTTP_PROXY to the backend
	apiLambda = "lambda" // W4: AWS_PROXY to the backend
	apiPush   = "push"   // W5: @connections onto idle connections
	apiChurn  = "churn"  // W6: MOCK $connect and $disconnect
	apiIsol   = "isol"   // W9: MOCK echo with $disconnect recorded
)

// echoTemplate renders a MOCK response that is the message itself.
var echoTemplate = model.Template{Parts: []model.TemplatePart{{Ref: &model.Ref{Root: "request", Path: []model.PathStep{{Name: "raw_body"}}}}}}

// connectionIDTemplate renders the connection's id as a JSON object.
var connectionIDTemplate = model.Template{Parts: []model.TemplatePart{
	{Literal: `{"connectionId":"`},
	{Ref: &model.Ref{Root: "context", Path: []model.PathStep{{Name: "connectionId"}}}},
	{Literal: `"}`},
}}

// mockIntegration returns a MOCK integration answering 200 with response
// (none when response is the zero template).
func mockIntegration(name string, response model.Template) *model.Integration {
	in := &model.Integration{
		Name:             name,
		Type:             model.IntegrationMock,
		RequestTemplates: map[string]model.Template{"$default": model.LiteralTemplate(`{"statusCode":200}`)},
	}
	if !response.IsZero() {
		in.Responses = []*model.IntegrationResponse{{Key: "$default", Templates: map[string]model.Template{"$default": response}}}
	}
	return in
}

// benchAPIs returns the APIs of the benchmark state; backend is the base
// URL of the harness's HTTP backend.
func benchAPIs(backend string) []*model.API {
	echo := mockIntegration("echo", echoTemplate)
	return []*model.API{
		{
			Name:         apiMock,
			Integrations: []*model.Integration{echo},
			Routes: []*model.Route{
				{Key: "$default", Integration: "echo", TwoWay: true},
				{Key: "echo", Integration: "echo", TwoWay: true},
			},
		},
		{
			Name:         apiHTTP,
			Integrations: []*model.Integration{{Name: "backend", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(backend + pathEcho)}},
			Routes:       []*model.Route{{Key: "$default", Integration: "backend", TwoWay: true}},
		},
		{
			Name:         apiLambda,
			Integrations: []*model.Integration{{Name: "fn", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(backend + pathLambda)}},
			Routes:       []*model.Route{{Key: "$default", Integration: "fn", TwoWay: true}},
		},
		{
			Name:         apiPush,
			Integrations: []*model.Integration{mockIntegration("whoami", connectionIDTemplate)},
			Routes:       []*model.Route{{Key: "$default", Integration: "whoami", TwoWay: true}},
		},
		{
			Name: apiChurn,
			Integrations: []*model.Integration{
				mockIntegration("accept", model.Template{}),
				mockIntegration("echo", echoTemplate),
			},
			Routes: []*model.Route{
				{Key: "$connect", Integration: "accept"},
				{Key: "$default", Integration: "echo", TwoWay: true},
				{Key: "$disconnect", Integration: "accept"},
			},
		},
		{
			Name: apiIsol,
			Integrations: []*model.Integration{
				mockIntegration("echo", echoTemplate),
				{Name: "record", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(backend + pathDisconnect)},
			},
			Routes: []*model.Route{
				{Key: "$default", Integration: "echo", TwoWay: true},
				{Key: "$disconnect", Integration: "record"},
				{Key: "echo", Integration: "echo", TwoWay: true},
			},
		},
	}
}

// benchState returns an applied state serving apis on the stage "bench",
// with throttling effectively off (the stage default of 10,000 messages per
// second would cap the workloads) and the defaults the configuration loader
// would fill in. It is what `wsgwctl apply` would have written for the
// equivalent configuration.
func benchState(apis []*model.API) (*state.State, error) {
	st := &state.State{Version: state.Version, Lineage: state.NewLineage(), Serial: 1}
	created := time.Now().UTC().Truncate(time.Second)
	for i, api := range apis {
		api.Protocol = "WEBSOCKET"
		api.RouteSelectionExpression = "$request.body.action"
		api.APIKeySelectionExpression = "$request.header.x-api-key"
		settings := model.DefaultRouteSettings()
		settings.ThrottlingRateLimit, settings.ThrottlingBurstLimit = 1e9, 1<<30
		api.Stages = []*model.Stage{{Name: benchStage, DefaultRouteSettings: settings}}
		for _, r := range api.Routes {
			r.Authorization = model.AuthorizationNone
		}
		for _, in := range api.Integrations {
			in.Method = http.MethodPost
			in.TimeoutMS = 29000
			in.PassthroughBehavior = model.PassthroughWhenNoMatch
		}
		deployment := fmt.Sprintf("d-%010x", i+1)
		st.APIs = append(st.APIs, &state.API{
			ID:               state.NewAPIID(),
			Config:           api,
			StageDeployments: map[string]string{benchStage: deployment},
			Deployments: []*state.Deployment{{
				ID:        deployment,
				CreatedAt: created,
				Snapshot: model.DeploymentSnapshot{
					RouteSelectionExpression:  api.RouteSelectionExpression,
					APIKeySelectionExpression: api.APIKeySelectionExpression,
					Routes:                    api.Routes,
					Integrations:              api.Integrations,
					Authorizers:               api.Authorizers,
					Models:                    api.Models,
				},
			}},
		})
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("build benchmark state: %w", err)
	}
	return st, nil
}
