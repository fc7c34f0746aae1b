package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// Authorizer limits and defaults (§3.2, D-19).
const (
	AuthorizerTypeRequest      = "REQUEST"
	DefaultAuthorizerTimeoutMS = 10000
	MinAuthorizerTimeoutMS     = 1
	MaxAuthorizerTimeoutMS     = 29000
	MaxResultTTLSeconds        = 3600
)

var authorizerSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"},
	{Name: "uri"},
	{Name: "identity_sources"},
	{Name: "timeout_ms"},
	{Name: "result_ttl_seconds"},
}}

// decodeAuthorizerBlock decodes an `authorizer "NAME"` block of an API.
func (d *decoder) decodeAuthorizerBlock(info *apiInfo, b *hcl.Block) {
	name := b.Labels[0]
	d.checkName(KindAuthorizer, name, b.LabelRanges[0])
	if !d.define(info.api.Name, KindAuthorizer, name, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(authorizerSchema)
	d.addAll(diags)
	au := &model.Authorizer{
		Name:      name,
		Type:      AuthorizerTypeRequest,
		TimeoutMS: DefaultAuthorizerTimeoutMS,
		Meta:      model.Meta{Range: toRange(b.DefRange)},
	}
	info.authorizers[name] = au
	info.api.Authorizers = append(info.api.Authorizers, au)

	a := d.attrSet(content, b, &au.Meta)
	a.enum("type", &au.Type, []string{AuthorizerTypeRequest})
	a.require("uri")
	if attr := a.get("uri"); attr != nil {
		au.URI, _ = a.requestTemplate("uri", attr.Expr, scopeAuthorizerURI)
	}
	if items, _ := a.stringList("identity_sources"); len(items) > 0 {
		for _, it := range items {
			if d.checkIdentitySource(it.Value, it.Range) {
				au.IdentitySources = append(au.IdentitySources, it.Value)
			}
		}
	}
	a.integer("timeout_ms", &au.TimeoutMS, MinAuthorizerTimeoutMS, MaxAuthorizerTimeoutMS)
	a.integer("result_ttl_seconds", &au.ResultTTLSeconds, 0, MaxResultTTLSeconds)
}
