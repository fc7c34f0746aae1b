package config

import (
	"fmt"

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
	if a.str("value", &k.Value) {
		rng := a.get("value").Expr.Range()
		switch first, dup := d.apiKeyValues[k.Value]; {
		case len(k.Value) < MinAPIKeyLength:
			d.add(errorf(rng, SummaryOutOfRange,
				"The value of api_key %q must be at least %d characters long; it has %d.", name, MinAPIKeyLength, len(k.Value)))
		case dup:
			// The gateway finds a key by its value, so two keys with one
			// value would be indistinguishable. The value is a secret: the
			// message names the keys, never the value.
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  SummaryDuplicateAPIKeyValue,
				Detail: fmt.Sprintf("api_key %q has the same value as api_key %q (%s). Every api_key needs a value of its own: the gateway tells keys apart by their value.",
					name, first.name, posString(first.rng)),
				Subject: rng.Ptr(),
				Extra:   PreviousDefinition{Range: first.rng},
			})
		default:
			d.apiKeyValues[k.Value] = keyDef{name: name, rng: rng}
		}
	}
	a.boolean("enabled", &k.Enabled)
}

// keyDef is where an api_key value, or a key's use on an API stage, was
// first defined, and by which api_key or usage plan.
type keyDef struct {
	name string
	rng  hcl.Range
}
