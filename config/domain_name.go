package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

var domainNameSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "certificate_file"},
		{Name: "private_key_file"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "mapping", LabelNames: []string{"base_path"}}},
}

// decodeDomainNameBlock decodes a top-level `domain_name "HOST"` block. It
// runs after the APIs are known.
func (d *decoder) decodeDomainNameBlock(b *hcl.Block) {
	host := b.Labels[0]
	if !validHostName(host) {
		d.add(errorf(b.LabelRanges[0], SummaryInvalidName,
			"%q is not a valid host name: use dot-separated labels of letters, digits and dashes, as in ws.example.com.", host))
	}
	if !d.define("", KindDomainName, host, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(domainNameSchema)
	d.addAll(diags)
	dn := &model.DomainName{Host: host, Meta: model.Meta{Range: toRange(b.DefRange)}}
	d.cfg.DomainNames = append(d.cfg.DomainNames, dn)

	a := d.attrSet(content, b, &dn.Meta)
	a.str("certificate_file", &dn.CertificateFile)
	a.str("private_key_file", &dn.PrivateKeyFile)
	for _, attr := range []string{"certificate_file", "private_key_file"} {
		if a.get(attr) != nil && (a.get("certificate_file") == nil || a.get("private_key_file") == nil) {
			a.require("certificate_file", "private_key_file")
			break
		}
	}
	for _, mb := range content.Blocks {
		basePath := mb.Labels[0]
		key := host + "\x00" + basePath
		if first, dup := d.mappingDef[key]; dup {
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  SummaryDuplicateMapping,
				Detail: fmt.Sprintf("The domain %q already maps the base path %q at %s; each host and base path may be mapped once.",
					host, basePath, posString(first)),
				Subject: mb.DefRange.Ptr(),
				Extra:   PreviousDefinition{Range: first},
			})
			continue
		}
		d.mappingDef[key] = mb.DefRange
		if api, stage, ok := d.decodeAPIStage(mb); ok {
			dn.Mappings = append(dn.Mappings, model.Mapping{BasePath: basePath, API: api, Stage: stage})
		}
	}
}
