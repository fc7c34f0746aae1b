package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// DefaultModelContentType is a model's content type when none is given.
const DefaultModelContentType = "application/json"

var modelSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "schema"},
	{Name: "content_type"},
}}

// decodeModelBlock decodes a `model "NAME"` block of an API: a JSON Schema
// draft 4 document that must compile (D-23).
func (d *decoder) decodeModelBlock(info *apiInfo, b *hcl.Block) {
	name := b.Labels[0]
	d.checkName(KindModel, name, b.LabelRanges[0])
	if !d.define(info.api.Name, KindModel, name, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(modelSchema)
	d.addAll(diags)
	m := &model.Model{
		Name:        name,
		ContentType: DefaultModelContentType,
		Meta:        model.Meta{Range: toRange(b.DefRange)},
	}
	info.models[name] = m
	info.api.Models = append(info.api.Models, m)

	a := d.attrSet(content, b, &m.Meta)
	a.require("schema")
	if a.str("schema", &m.Schema) {
		d.checkModelSchema(m.Schema, a.get("schema").Expr.Range())
	}
	a.str("content_type", &m.ContentType)
}
