package apply

import (
	"fmt"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// mustTemplate parses a template of the fixtures, which are valid.
func mustTemplate(s string) model.Template {
	tp, err := model.ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return tp
}

// fixtureLineage is the lineage of fixture states.
const fixtureLineage = "0b6f1f0e-5c1d-4a8e-9a55-2f1c3b7d9e10"

// fixtureTime is the creation time of fixture deployment v.
func fixtureTime(v int) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(v) * time.Hour)
}

// deploymentID is the id of fixture deployment v.
func deploymentID(v int) string { return fmt.Sprintf("d-%010x", v) }

// snapshot returns the routing content of variant v of an API with routes
// routes.
func snapshot(v, routes int) (model.DeploymentSnapshot, []*model.Route, []*model.Integration) {
	var rs []*model.Route
	var is []*model.Integration
	for i := range routes {
		name := fmt.Sprintf("backend%03d", i)
		uri := mustTemplate(fmt.Sprintf("http://backend-%d.internal:9000/route/%d/${stageVariables.tenant}?v=%d", v, i, v))
		body := mustTemplate(`{"connection":"${context.connectionId}","body":${request.body},"route":"` + name + `"}`)
		rs = append(rs, &model.Route{Key: fmt.Sprintf("action%03d", i), Integration: name, Authorization: model.AuthorizationNone})
		is = append(is, &model.Integration{
			Name: name, Type: model.IntegrationHTTP, URI: uri, Method: "POST", TimeoutMS: 29000,
			RequestTemplates:    map[string]model.Template{"$default": body},
			PassthroughBehavior: model.PassthroughWhenNoMatch,
		})
	}
	snap := model.DeploymentSnapshot{
		RouteSelectionExpression:  "$request.body.action",
		APIKeySelectionExpression: "$request.header.x-api-key",
		Routes:                    rs,
		Integrations:              is,
	}
	return snap, rs, is
}

// fixture returns a complete state of apis APIs with routes routes each:
// their configuration is variant history[len-1], their deployment history
// holds one deployment per entry of history, and stage "prod" runs the newest.
func fixture(serial uint64, apis, routes int, history ...int) *state.State {
	st := &state.State{Version: state.Version, Lineage: fixtureLineage, Serial: serial}
	newest := history[len(history)-1]
	for a := range apis {
		_, rs, is := snapshot(newest, routes)
		api := &state.API{
			ID: fmt.Sprintf("api%07d", a),
			Config: &model.API{
				Name:                      fmt.Sprintf("api%02d", a),
				Protocol:                  "WEBSOCKET",
				RouteSelectionExpression:  "$request.body.action",
				APIKeySelectionExpression: "$request.header.x-api-key",
				Routes:                    rs,
				Integrations:              is,
				Stages: []*model.Stage{{
					Name:                 "prod",
					Variables:            map[string]string{"tenant": "acme"},
					DefaultRouteSettings: model.DefaultRouteSettings(),
				}},
			},
			StageDeployments: map[string]string{"prod": deploymentID(newest)},
		}
		for _, v := range history {
			snap, _, _ := snapshot(v, routes)
			api.Deployments = append(api.Deployments, &state.Deployment{
				ID: deploymentID(v), CreatedAt: fixtureTime(v), Snapshot: snap,
			})
		}
		st.APIs = append(st.APIs, api)
	}
	return st
}
