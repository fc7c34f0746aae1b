package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// Integration limits and defaults (§3.2).
const (
	DefaultIntegrationMethod    = "POST"
	DefaultIntegrationTimeoutMS = 29000
	MinIntegrationTimeoutMS     = 50
	MaxIntegrationTimeoutMS     = 29000
)

var (
	integrationTypes = []string{model.IntegrationAWSProxy, model.IntegrationHTTP, model.IntegrationHTTPProxy, model.IntegrationMock}
	passthroughs     = []string{model.PassthroughNever, model.PassthroughWhenNoMatch, model.PassthroughWhenNoTemplates}
	contentHandlings = []string{"CONVERT_TO_BINARY", "CONVERT_TO_TEXT"}
	httpMethods      = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
)

// reservedIntegrationName may not name an integration (D-22).
const reservedIntegrationName = "response"

var integrationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "uri"},
		{Name: "method"},
		{Name: "timeout_ms"},
		{Name: "request_parameters"},
		{Name: "request_templates"},
		{Name: "template_selection_expression"},
		{Name: "passthrough_behavior"},
		{Name: "content_handling"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "response", LabelNames: []string{"key"}}},
}

var responseSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "templates"},
	{Name: "template_selection_expression"},
}}

// decodeIntegrationBlock decodes an `integration "NAME"` block of an API.
func (d *decoder) decodeIntegrationBlock(info *apiInfo, b *hcl.Block) {
	name := b.Labels[0]
	if d.checkName(KindIntegration, name, b.LabelRanges[0]) && name == reservedIntegrationName {
		d.add(errorf(b.LabelRanges[0], SummaryInvalidName,
			"The integration name %q is reserved: integration.response.* is the request-time variable of response templates (D-22). Choose another name.", name))
	}
	if !d.define(info.api.Name, KindIntegration, name, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(integrationSchema)
	d.addAll(diags)
	ig := &model.Integration{
		Name:                name,
		Method:              DefaultIntegrationMethod,
		TimeoutMS:           DefaultIntegrationTimeoutMS,
		PassthroughBehavior: model.PassthroughWhenNoMatch,
		Meta:                model.Meta{Range: toRange(b.DefRange)},
	}
	info.integrations[name] = ig
	info.api.Integrations = append(info.api.Integrations, ig)

	a := d.attrSet(content, b, &ig.Meta)
	a.require("type")
	typeKnown := a.enum("type", &ig.Type, integrationTypes)
	if attr := a.get("uri"); attr != nil {
		ig.URI, _ = a.requestTemplate("uri", attr.Expr, scopeIntegrationURI)
	} else if typeKnown && ig.Type != model.IntegrationMock {
		a.require("uri")
	}
	a.enum("method", &ig.Method, httpMethods)
	a.integer("timeout_ms", &ig.TimeoutMS, MinIntegrationTimeoutMS, MaxIntegrationTimeoutMS)

	if entries, _ := a.stringMap("request_parameters"); len(entries) > 0 {
		ig.RequestParameters = map[string]string{}
		for _, e := range entries {
			value := e.Value.AsString()
			if d.checkRequestParameter(e.Key, value, e.KeyRange, e.ValueRange) {
				ig.RequestParameters[e.Key] = value
				if strings.HasPrefix(value, "route.request.header.") || strings.HasPrefix(value, "route.request.querystring.") {
					info.handshakeParams = append(info.handshakeParams, handshakeParam{
						integration: name, key: e.Key, source: value, rng: e.ValueRange,
					})
				}
			}
		}
	}
	ig.RequestTemplates = a.templateMap("request_templates", scopeRequestTemplate)
	if s, ok := a.selectionExpr("template_selection_expression", selection.Body); ok {
		ig.TemplateSelectionExpression = s
	}
	a.enum("passthrough_behavior", &ig.PassthroughBehavior, passthroughs)
	a.enum("content_handling", &ig.ContentHandling, contentHandlings)

	for _, rb := range content.Blocks {
		if r := d.decodeResponseBlock(info, ig, rb); r != nil {
			ig.Responses = append(ig.Responses, r)
		}
	}
}

// templateMap decodes a map attribute whose values are request-time
// templates.
func (a *attrSet) templateMap(name string, sc *rtScope) map[string]model.Template {
	entries, _ := a.mapEntries(name)
	if len(entries) == 0 {
		return nil
	}
	out := map[string]model.Template{}
	for _, e := range entries {
		if e.Expr != nil {
			if t, ok := a.requestTemplate(name, e.Expr, sc); ok {
				out[e.Key] = t
			}
			continue
		}
		v := a.unmark(name, e.Value)
		if v.IsNull() || !v.IsWhollyKnown() {
			continue
		}
		s, ok := a.d.convertTo(v, cty.String, e.ValueRange, "a value of "+a.where(name))
		if ok {
			out[e.Key] = model.LiteralTemplate(s.AsString())
		}
	}
	return out
}

// decodeResponseBlock decodes a `response "KEY"` block of an integration.
func (d *decoder) decodeResponseBlock(info *apiInfo, ig *model.Integration, b *hcl.Block) *model.IntegrationResponse {
	key := b.Labels[0]
	content, diags := b.Body.Content(responseSchema)
	d.addAll(diags)
	if !validResponseKey(key, b.LabelRanges[0], d) {
		return nil
	}
	if !d.define(info.api.Name+"\x00integration "+ig.Name, KindResponse, key, b.DefRange) {
		return nil
	}
	r := &model.IntegrationResponse{Key: key}
	// Sensitivity is recorded on the integration as its "response"
	// attribute: responses are attributes of their integration (D-15).
	var meta model.Meta
	a := d.attrSet(content, b, &meta)
	a.what = fmt.Sprintf("response %q of integration %q", key, ig.Name)
	r.Templates = a.templateMap("templates", scopeResponseTemplate)
	if s, ok := a.selectionExpr("template_selection_expression", selection.Body); ok {
		r.TemplateSelectionExpression = s
	}
	if len(meta.Sensitive) > 0 {
		(&attrSet{meta: &ig.Meta}).markSensitive("response")
	}
	return r
}

// validResponseKey checks an integration response key: "$default" or a
// /regex/ that compiles (D-44); it reports a bad one.
func validResponseKey(key string, rng hcl.Range, d *decoder) bool {
	if key == model.RouteDefault {
		return true
	}
	if len(key) >= 2 && strings.HasPrefix(key, "/") && strings.HasSuffix(key, "/") {
		if _, err := regexp.Compile(key[1 : len(key)-1]); err != nil {
			d.add(errorf(rng, SummaryInvalidResponseKey,
				"The response key %q is not a valid regular expression: %s.", key, err))
			return false
		}
		return true
	}
	d.add(errorf(rng, SummaryInvalidResponseKey,
		"A response key is \"$default\" or a regular expression between slashes matched against the status code, as in \"/4\\\\d\\\\d/\"; %q is neither.", key))
	return false
}
