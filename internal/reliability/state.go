package reliability

import (
	"net/http"
	"strings"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// The API and stage the suite serves.
const (
	apiName      = "rel"
	apiID        = "rel0000001"
	stageName    = "test"
	deploymentID = "d-0000000001"
	stagePath    = "/" + apiName + "/" + stageName
)

// Route keys of the suite's API. Well-behaved messages carry no action and
// go to $default.
const (
	routeWhoami = "whoami"
	routeBig    = "big"
	routeFlood  = "flood"
)

// faultRoutes are the routes to faulty backends: the route key, which is
// also the faulty backend's path, and the integration type that calls it.
var faultRoutes = []struct {
	key, typ string
	timeout  int
}{
	{"down", model.IntegrationHTTPProxy, faultTimeoutMS},
	{"slow", model.IntegrationAWSProxy, slowTimeoutMS},
	{"reset", model.IntegrationAWSProxy, faultTimeoutMS},
	{"garbage-json", model.IntegrationAWSProxy, faultTimeoutMS},
	{"garbage-content", model.IntegrationAWSProxy, faultTimeoutMS},
	{"garbage-huge-body", model.IntegrationAWSProxy, faultTimeoutMS},
	{"garbage-huge-length", model.IntegrationHTTPProxy, faultTimeoutMS},
}

// suiteState returns the applied state the gateway serves: good is the
// well-behaved backend, faulty the base URL of the misbehaving ones, and
// down the URL of a closed port.
func suiteState(good *goodBackend, faulty, down string) *state.State {
	integrations := []*model.Integration{
		{Name: "echo", Type: model.IntegrationHTTPProxy, URI: model.LiteralTemplate(good.url("/echo")), TimeoutMS: 5000},
		{Name: "lambda", Type: model.IntegrationAWSProxy, URI: model.LiteralTemplate(good.url("/lambda")), TimeoutMS: 5000},
		{
			Name:             "bigreply",
			Type:             model.IntegrationMock,
			RequestTemplates: map[string]model.Template{"$default": model.LiteralTemplate(`{"statusCode":200}`)},
			Responses: []*model.IntegrationResponse{{
				Key:       "$default",
				Templates: map[string]model.Template{"$default": model.LiteralTemplate(strings.Repeat("b", bigReplyBytes))},
			}},
		},
	}
	routes := []*model.Route{
		{Key: model.RouteConnect, Integration: "lambda"},
		{Key: model.RouteDisconnect, Integration: "lambda"},
		{Key: model.RouteDefault, Integration: "echo", TwoWay: true},
		{Key: routeWhoami, Integration: "lambda", TwoWay: true},
		{Key: routeBig, Integration: "bigreply", TwoWay: true},
		{Key: routeFlood, Integration: "echo", TwoWay: true},
	}
	for _, f := range faultRoutes {
		uri := faulty + "/" + f.key
		if f.key == "down" {
			uri = down
		}
		integrations = append(integrations, &model.Integration{Name: f.key, Type: f.typ, URI: model.LiteralTemplate(uri), TimeoutMS: f.timeout})
		routes = append(routes, &model.Route{Key: f.key, Integration: f.key, TwoWay: true})
	}
	for _, in := range integrations {
		in.Method = http.MethodPost
		in.PassthroughBehavior = model.PassthroughWhenNoMatch
	}
	for _, r := range routes {
		r.Authorization = model.AuthorizationNone
	}
	flood := model.DefaultRouteSettings()
	flood.ThrottlingRateLimit, flood.ThrottlingBurstLimit = floodRate, floodBurst
	big := model.DefaultRouteSettings()
	big.ThrottlingRateLimit, big.ThrottlingBurstLimit = bigRate, bigBurst
	api := &model.API{
		Name:                      apiName,
		Protocol:                  "WEBSOCKET",
		RouteSelectionExpression:  "$request.body.action",
		APIKeySelectionExpression: "$request.header.x-api-key",
		Routes:                    routes,
		Integrations:              integrations,
		Stages: []*model.Stage{{
			Name:                 stageName,
			DefaultRouteSettings: model.DefaultRouteSettings(),
			RouteSettings:        map[string]model.RouteSettings{routeFlood: flood, routeBig: big},
		}},
	}
	return &state.State{
		Version: state.Version,
		Lineage: "7e1a0b1c-0000-4000-8000-000000000001",
		Serial:  1,
		APIs: []*state.API{{
			ID:               apiID,
			Config:           api,
			StageDeployments: map[string]string{stageName: deploymentID},
			Deployments: []*state.Deployment{{
				ID:        deploymentID,
				CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				Snapshot: model.DeploymentSnapshot{
					RouteSelectionExpression:  api.RouteSelectionExpression,
					APIKeySelectionExpression: api.APIKeySelectionExpression,
					Routes:                    routes,
					Integrations:              integrations,
				},
			}},
		}},
	}
}
