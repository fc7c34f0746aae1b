package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// MaxStagesPerAPI is the number of stages an API may have (§3.2).
const MaxStagesPerAPI = 10

// Default and allowed API-level values (§3.2).
const (
	ProtocolWebSocket                = "WEBSOCKET"
	DefaultAPIKeySelectionExpression = "$request.header.x-api-key"
	AuthorizerAPIKeySelection        = "$context.authorizer.usageIdentifierKey"
)

// apiInfo is what the decoder knows about one API while decoding it and the
// top-level blocks that refer to it.
type apiInfo struct {
	api          *model.API
	integrations map[string]*model.Integration
	authorizers  map[string]*model.Authorizer
	models       map[string]*model.Model
	stages       map[string]*model.Stage
	routes       map[string]*model.Route
	// used records referenced integrations, authorizers and models, by
	// "kind\x00name".
	used map[string]bool
	// routeSettings are the route_settings labels of every stage, checked
	// against the routes once all are decoded.
	routeSettings []labelRef
	// integrationRefs are the routes' integration references, for the
	// two-way checks.
	twoWay []twoWayRoute
	// handshakeParams are request parameters whose source exists only
	// during the handshake (route.request.header.X,
	// route.request.querystring.X), checked against the routes that use
	// their integration.
	handshakeParams []handshakeParam
}

// handshakeParam is a request parameter with a handshake-only source.
type handshakeParam struct {
	integration, key, source string
	rng                      hcl.Range
}

// labelRef is a block label and where it is written.
type labelRef struct {
	label string
	rng   hcl.Range
}

// twoWayRoute is a two-way route and its integration.
type twoWayRoute struct {
	route       *model.Route
	integration string
	rng         hcl.Range
}

var apiSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "route_selection_expression"},
		{Name: "api_key_selection_expression"},
		{Name: "description"},
		{Name: "protocol"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "integration", LabelNames: []string{"name"}},
		{Type: "authorizer", LabelNames: []string{"name"}},
		{Type: "model", LabelNames: []string{"name"}},
		{Type: "route", LabelNames: []string{"key"}},
		{Type: "stage", LabelNames: []string{"name"}},
	},
}

// decodeAPIBlock decodes an `api "NAME"` block and everything nested in it.
func (d *decoder) decodeAPIBlock(b *hcl.Block) {
	name := b.Labels[0]
	d.checkName(KindAPI, name, b.LabelRanges[0])
	if !d.define("", KindAPI, name, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(apiSchema)
	d.addAll(diags)

	api := &model.API{
		Name:                      name,
		Protocol:                  ProtocolWebSocket,
		APIKeySelectionExpression: DefaultAPIKeySelectionExpression,
		Meta:                      model.Meta{Range: toRange(b.DefRange)},
	}
	info := &apiInfo{
		api:          api,
		integrations: map[string]*model.Integration{},
		authorizers:  map[string]*model.Authorizer{},
		models:       map[string]*model.Model{},
		stages:       map[string]*model.Stage{},
		routes:       map[string]*model.Route{},
		used:         map[string]bool{},
	}
	d.apis[name] = info
	d.cfg.APIs = append(d.cfg.APIs, api)

	a := d.attrSet(content, b, &api.Meta)
	a.require("route_selection_expression")
	if s, ok := a.selectionExpr("route_selection_expression", selection.Body); ok {
		api.RouteSelectionExpression = s
	}
	if s, ok := a.selectionExpr("api_key_selection_expression", selection.APIKey); ok {
		allowed := []string{DefaultAPIKeySelectionExpression, AuthorizerAPIKeySelection}
		if s == allowed[0] || s == allowed[1] {
			api.APIKeySelectionExpression = s
		} else {
			d.add(errorf(a.get("api_key_selection_expression").Expr.Range(), SummaryUnsupportedValue,
				"The value %q is not allowed for %s. Allowed values are %s.%s",
				s, a.where("api_key_selection_expression"), quotedList(allowed), didYouMean(s, allowed)))
		}
	}
	a.str("description", &api.Description)
	a.enum("protocol", &api.Protocol, []string{ProtocolWebSocket})

	errorsBefore := countErrors(d.diags)

	// Declarations first, so that routes can refer to them whatever the
	// order in the source.
	stageCount := 0
	for _, nb := range content.Blocks {
		switch nb.Type {
		case "integration":
			d.decodeIntegrationBlock(info, nb)
		case "authorizer":
			d.decodeAuthorizerBlock(info, nb)
		case "model":
			d.decodeModelBlock(info, nb)
		case "stage":
			if d.decodeStageBlock(info, nb) {
				stageCount++
				if stageCount == MaxStagesPerAPI+1 {
					d.add(errorf(nb.DefRange, SummaryTooManyStages,
						"The API %q has more than %d stages; an API may have at most %d.", name, MaxStagesPerAPI, MaxStagesPerAPI))
				}
			}
		}
	}
	for _, nb := range content.Blocks {
		if nb.Type == "route" {
			d.decodeRouteBlock(info, nb)
		}
	}
	// Unused-object warnings are noise while the API has errors: a
	// misspelled or broken reference makes its target look unused.
	d.checkAPI(info, countErrors(d.diags) == errorsBefore)
}

// countErrors counts the errors among diags.
func countErrors(diags hcl.Diagnostics) int {
	n := 0
	for _, diag := range diags {
		if diag.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}

// checkAPI reports the API-wide warnings: unused integrations, authorizers
// and models (when reportUnused), route settings for undefined routes, and
// two-way routes whose non-proxy integration has no response (D-23, D-44).
func (d *decoder) checkAPI(info *apiInfo, reportUnused bool) {
	if reportUnused {
		d.checkUnused(info)
	}
	for _, rs := range info.routeSettings {
		if _, ok := info.routes[rs.label]; !ok {
			d.add(warnf(rs.rng, SummaryRouteSettingsUndefined,
				"The api %q has no route %q, so these settings have no effect.%s",
				info.api.Name, rs.label, didYouMean(rs.label, sortedKeys(info.routes))))
		}
	}
	for _, hp := range info.handshakeParams {
		for _, r := range info.api.Routes {
			if r.Integration == hp.integration && r.Key != model.RouteConnect {
				d.add(errorf(hp.rng, SummaryInvalidRequestParameter,
					"The source %q of request parameter %q exists only during the handshake, so it may be used only by an integration of the $connect route; integration %q is also used by route %q.",
					hp.source, hp.key, hp.integration, r.Key))
				break
			}
		}
	}
	for _, tw := range info.twoWay {
		ig := info.integrations[tw.integration]
		if ig == nil || len(ig.Responses) > 0 {
			continue
		}
		if ig.Type == model.IntegrationHTTP || ig.Type == model.IntegrationMock {
			d.add(warnf(tw.rng, SummaryTwoWayWithoutIntegResponse,
				"The route %q is two-way, but its %s integration %q has no response block, so nothing is sent back. Add response \"$default\" { templates = {...} } to the integration.",
				tw.route.Key, ig.Type, ig.Name))
		}
	}
}

// checkUnused warns about integrations, authorizers and models that no route
// uses.
func (d *decoder) checkUnused(info *apiInfo) {
	for _, ig := range info.api.Integrations {
		if !info.used[KindIntegration+"\x00"+ig.Name] {
			d.add(warnf(fromModelRange(ig.Meta.Range), SummaryUnusedIntegration,
				"The integration %q of api %q is not used by any route.", ig.Name, info.api.Name))
		}
	}
	for _, au := range info.api.Authorizers {
		if !info.used[KindAuthorizer+"\x00"+au.Name] {
			d.add(warnf(fromModelRange(au.Meta.Range), SummaryUnusedAuthorizer,
				"The authorizer %q of api %q is not used by any route.", au.Name, info.api.Name))
		}
	}
	for _, m := range info.api.Models {
		if !info.used[KindModel+"\x00"+m.Name] {
			d.add(warnf(fromModelRange(m.Meta.Range), SummaryUnusedModel,
				"The model %q of api %q is not used by any route's request_models.", m.Name, info.api.Name))
		}
	}
}

// fromModelRange converts a model.Range back to an hcl.Range.
func fromModelRange(r model.Range) hcl.Range {
	return hcl.Range{
		Filename: r.Filename,
		Start:    hcl.Pos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      hcl.Pos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
}

// blockRef decodes a reference to a named object, written KIND.NAME, whose
// declared names are the keys of declared. It returns "" and false when the
// attribute is null or the reference is bad (reported).
func blockRef[V any](d *decoder, expr hcl.Expression, kind, undeclared string, declared map[string]V, scope string) (string, bool) {
	if v, diags := expr.Value(nil); !diags.HasErrors() && v.IsNull() {
		return "", false
	}
	tr, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(tr) != 2 || tr.RootName() != kind {
		d.add(errorf(expr.Range(), SummaryInvalidReference,
			"A reference to %s is written %s.NAME, as in %s.backend, without quotes.", articleKind(kind), kind, kind))
		return "", false
	}
	attr, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		d.add(errorf(tr.SourceRange(), SummaryInvalidReference,
			"A reference to %s is written %s.NAME, as in %s.backend.", articleKind(kind), kind, kind))
		return "", false
	}
	if _, ok := declared[attr.Name]; !ok {
		d.add(errorf(tr.SourceRange(), undeclared,
			"There is no %s named %q %s.%s", kind, attr.Name, scope, didYouMean(attr.Name, sortedKeys(declared))))
		return "", false
	}
	return attr.Name, true
}

// articleKind returns "an integration", "a model", ...
func articleKind(kind string) string {
	switch kind[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + kind
	}
	return "a " + kind
}

// inAPI renders "in api "NAME"" for messages.
func inAPI(name string) string { return fmt.Sprintf("in api %q", name) }
