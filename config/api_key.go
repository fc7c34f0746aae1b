package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// MinAPIKeyLength is the shortest allowed api_key value (§3.2).
const MinAPIKeyLength = 20

var apiKeySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "value"},
	{Name: "enabled"},
}}

// decodeAPIKeyBlock decodes a top-level `api_key "NAME"` block.
func (d *decoder) decodeAPIKeyBlock(b *hcl.Block) {
	name := b.Labels[0]
	d.checkName(KindAPIKey, name, b.LabelRanges[0])
	if !d.define("", KindAPIKey, name, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(apiKeySchema)
	d.addAll(diags)
	k := &model.APIKey{Name: name, Enabled: true, Meta: model.Meta{Range: toRange(b.DefRange)}}
	d.apiKeys[name] = k
	d.cfg.APIKeys = append(d.cfg.APIKeys, k)

	a := d.attrSet(content, b, &k.Meta)
	a.require("value")
	if a.str("value", &k.Value) && len(k.Value) < MinAPIKeyLength {
		d.add(errorf(a.get("value").Expr.Range(), SummaryOutOfRange,
			"The value of api_key %q must be at least %d characters long; it has %d.", name, MinAPIKeyLength, len(k.Value)))
	}
	a.boolean("enabled", &k.Enabled)
}
