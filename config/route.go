package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

var authorizationTypes = []string{model.AuthorizationIAM, model.AuthorizationCustom, model.AuthorizationNone}

var routeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "integration"},
		{Name: "authorization"},
		{Name: "authorizer"},
		{Name: "api_key_required"},
		{Name: "model_selection_expression"},
		{Name: "request_models"},
		{Name: "route_response_selection_expression"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "route_response", LabelNames: []string{"key"}}},
}

// decodeRouteBlock decodes a `route "KEY"` block of an API. It runs after
// the API's integrations, authorizers and models are known.
func (d *decoder) decodeRouteBlock(info *apiInfo, b *hcl.Block) {
	key := b.Labels[0]
	d.checkRouteKey(key, b.LabelRanges[0])
	if !d.define(info.api.Name, KindRoute, key, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(routeSchema)
	d.addAll(diags)
	r := &model.Route{
		Key:           key,
		Authorization: model.AuthorizationNone,
		Meta:          model.Meta{Range: toRange(b.DefRange)},
	}
	info.routes[key] = r
	info.api.Routes = append(info.api.Routes, r)
	scope := inAPI(info.api.Name)

	a := d.attrSet(content, b, &r.Meta)
	if attr := a.get("integration"); attr != nil {
		if n, ok := blockRef(d, attr.Expr, KindIntegration, SummaryUndeclaredIntegration, info.integrations, scope); ok {
			r.Integration = n
			info.used[KindIntegration+"\x00"+n] = true
		}
	}

	authAttr := a.get("authorization")
	authKnown := a.enum("authorization", &r.Authorization, authorizationTypes) || authAttr == nil
	if authKnown && r.Authorization != model.AuthorizationNone && key != model.RouteConnect {
		d.add(errorf(authAttr.Expr.Range(), SummaryOnlyOnConnect,
			"authorization = %q is only allowed on the $connect route: authorization happens once, during the handshake. Remove it from route %q.",
			r.Authorization, key))
	}
	if attr := a.get("authorizer"); attr != nil {
		if n, ok := blockRef(d, attr.Expr, KindAuthorizer, SummaryUndeclaredAuthorizer, info.authorizers, scope); ok {
			info.used[KindAuthorizer+"\x00"+n] = true
			if authKnown && r.Authorization != model.AuthorizationCustom {
				d.add(errorf(attr.Expr.Range(), SummaryAuthorizerNotAllowed,
					"An authorizer is used only when authorization = \"CUSTOM\"; route %q has authorization = %q. Set authorization = \"CUSTOM\" or remove the authorizer.",
					key, r.Authorization))
			} else {
				r.Authorizer = n
			}
		}
	} else if authKnown && r.Authorization == model.AuthorizationCustom {
		d.add(errorf(authAttr.Expr.Range(), SummaryMissingAuthorizer,
			"Route %q has authorization = \"CUSTOM\" but no authorizer. Add authorizer = authorizer.NAME.", key))
	}

	if a.boolean("api_key_required", &r.APIKeyRequired) && r.APIKeyRequired && key != model.RouteConnect {
		d.add(errorf(a.get("api_key_required").Expr.Range(), SummaryOnlyOnConnect,
			"api_key_required = true is only allowed on the $connect route: the key is checked once, during the handshake. Remove it from route %q.", key))
	}
	if s, ok := a.selectionExpr("model_selection_expression", selection.Body); ok {
		r.ModelSelectionExpression = s
	}
	d.decodeRequestModels(info, a, r)
	a.enum("route_response_selection_expression", &r.RouteResponseSelectionExpression, []string{model.RouteDefault})

	for _, rb := range content.Blocks {
		d.decodeRouteResponseBlock(info, r, rb)
	}
	if r.TwoWay && r.Integration != "" {
		info.twoWay = append(info.twoWay, twoWayRoute{route: r, integration: r.Integration, rng: b.DefRange})
	}
}

// decodeRequestModels decodes a route's request_models: model keys to
// model references.
func (d *decoder) decodeRequestModels(info *apiInfo, a *attrSet, r *model.Route) {
	attr := a.get("request_models")
	if attr == nil {
		return
	}
	pairs, diags := hcl.ExprMap(attr.Expr)
	if diags.HasErrors() {
		d.add(errorf(attr.Expr.Range(), SummaryIncorrectType,
			"request_models must be written as a map of model keys to model references, as in { \"$default\" = model.message }."))
		return
	}
	for _, p := range pairs {
		// The reference first: a model is used even when its key is not
		// known yet (an unset variable).
		n, refOK := blockRef(d, p.Value, KindModel, SummaryUndeclaredModel, info.models, inAPI(info.api.Name))
		if refOK {
			info.used[KindModel+"\x00"+n] = true
		}
		kv, ok := d.evalStatic(p.Key, a.where("request_models"))
		if !ok || !refOK {
			continue
		}
		kv = a.unmark("request_models", kv)
		if !kv.IsWhollyKnown() || kv.IsNull() {
			continue
		}
		ks, ok := d.convertTo(kv, cty.String, p.Key.Range(), "a key of "+a.where("request_models"))
		if !ok {
			continue
		}
		if r.RequestModels == nil {
			r.RequestModels = map[string]string{}
		}
		r.RequestModels[ks.AsString()] = n
	}
}

// decodeRouteResponseBlock decodes a `route_response "$default" {}` block,
// whose presence makes the route two-way.
func (d *decoder) decodeRouteResponseBlock(info *apiInfo, r *model.Route, b *hcl.Block) {
	key := b.Labels[0]
	_, diags := b.Body.Content(&hcl.BodySchema{})
	d.addAll(diags)
	if key != model.RouteDefault {
		d.add(errorf(b.LabelRanges[0], SummaryInvalidRouteResponseKey,
			"The only route response key is \"$default\"; %q is not allowed.", key))
		return
	}
	if !d.define(info.api.Name+"\x00route "+r.Key, KindRouteResponse, key, b.DefRange) {
		return
	}
	r.TwoWay = true
}

// checkRouteKey reports a custom route key that is empty or starts with
// "$" (only $connect, $disconnect and $default may).
func (d *decoder) checkRouteKey(key string, rng hcl.Range) bool {
	switch key {
	case model.RouteConnect, model.RouteDisconnect, model.RouteDefault:
		return true
	case "":
		d.add(errorf(rng, SummaryInvalidRouteKey, "A route key must not be empty."))
		return false
	}
	if key[0] == '$' {
		reserved := []string{model.RouteConnect, model.RouteDefault, model.RouteDisconnect}
		d.add(errorf(rng, SummaryInvalidRouteKey,
			"The route key %q starts with \"$\", which is reserved for %s.%s",
			key, quotedList(reserved), didYouMean(key, reserved)))
		return false
	}
	return true
}
