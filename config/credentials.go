package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

var credentialsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "access_key_id"},
	{Name: "secret_access_key"},
}}

// decodeCredentialsBlock decodes a top-level `credentials "NAME"` block.
func (d *decoder) decodeCredentialsBlock(b *hcl.Block) {
	name := b.Labels[0]
	d.checkName(KindCredentials, name, b.LabelRanges[0])
	if !d.define("", KindCredentials, name, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(credentialsSchema)
	d.addAll(diags)
	c := &model.Credentials{Name: name, Meta: model.Meta{Range: toRange(b.DefRange)}}
	d.cfg.Credentials = append(d.cfg.Credentials, c)

	a := d.attrSet(content, b, &c.Meta)
	a.require("access_key_id", "secret_access_key")
	a.str("access_key_id", &c.AccessKeyID)
	a.str("secret_access_key", &c.SecretAccessKey)
}
