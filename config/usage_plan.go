package config

import (
	"fmt"
	"math"

	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

var quotaPeriods = []string{"DAY", "MONTH", "WEEK"}

var usagePlanSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "api_keys"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "stage"},
		{Type: "throttle"},
		{Type: "quota"},
	},
}

var apiStageSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "api"},
	{Name: "stage"},
}}

var throttleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "burst_limit"},
	{Name: "rate_limit"},
}}

var quotaSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "limit"},
	{Name: "period"},
}}

// decodeUsagePlanBlock decodes a top-level `usage_plan "NAME"` block. It
// runs after the APIs and api keys are known.
func (d *decoder) decodeUsagePlanBlock(b *hcl.Block) {
	name := b.Labels[0]
	d.checkName(KindUsagePlan, name, b.LabelRanges[0])
	if !d.define("", KindUsagePlan, name, b.DefRange) {
		return
	}
	content, diags := b.Body.Content(usagePlanSchema)
	d.addAll(diags)
	u := &model.UsagePlan{Name: name, Meta: model.Meta{Range: toRange(b.DefRange)}}
	d.cfg.UsagePlans = append(d.cfg.UsagePlans, u)

	if attr, ok := content.Attributes["api_keys"]; ok {
		exprs, diags := hcl.ExprList(attr.Expr)
		if diags.HasErrors() {
			d.add(errorf(attr.Expr.Range(), SummaryIncorrectType,
				"api_keys must be written as a list of api key references, as in [api_key.mobile]."))
		}
		for _, e := range exprs {
			if n, ok := blockRef(d, e, KindAPIKey, SummaryUndeclaredAPIKey, d.apiKeys, "in the configuration"); ok {
				u.APIKeys = append(u.APIKeys, n)
			}
		}
	}

	seen := map[string]hcl.Range{}
	for _, nb := range content.Blocks {
		switch nb.Type {
		case "stage":
			if api, stage, ok := d.decodeAPIStage(nb); ok {
				u.Stages = append(u.Stages, model.UsagePlanStage{API: api, Stage: stage})
				d.checkPlanKeys(u, api, stage, nb.DefRange)
			}
		case "throttle", "quota":
			if first, dup := seen[nb.Type]; dup {
				d.add(duplicate(nb.Type, nb.Type, first, nb.DefRange))
				continue
			}
			seen[nb.Type] = nb.DefRange
			if nb.Type == "throttle" {
				u.Throttle = d.decodeThrottle(nb, &u.Meta)
			} else {
				u.Quota = d.decodeQuota(nb, &u.Meta)
			}
		}
	}
}

// decodeAPIStage decodes a block of the form { api = api.X, stage = "S" }
// (a usage plan's stage, a domain name's mapping) and checks that the API
// has that stage.
func (d *decoder) decodeAPIStage(b *hcl.Block) (api, stage string, ok bool) {
	content, diags := b.Body.Content(apiStageSchema)
	d.addAll(diags)
	a := d.attrSet(content, b, nil)
	a.require("api", "stage")
	var info *apiInfo
	if attr := a.get("api"); attr != nil {
		if n, found := blockRef(d, attr.Expr, KindAPI, SummaryUndeclaredAPI, d.apis, "in the configuration"); found {
			api, info = n, d.apis[n]
		}
	}
	if !a.str("stage", &stage) || info == nil {
		return "", "", false
	}
	if _, found := info.stages[stage]; !found {
		d.add(errorf(a.get("stage").Expr.Range(), SummaryUndeclaredStage,
			"The api %q has no stage %q.%s", api, stage, didYouMean(stage, sortedKeys(info.stages))))
		return "", "", false
	}
	return api, stage, true
}

// decodeThrottle decodes a usage plan's throttle block.
func (d *decoder) decodeThrottle(b *hcl.Block, meta *model.Meta) *model.Throttle {
	content, diags := b.Body.Content(throttleSchema)
	d.addAll(diags)
	t := &model.Throttle{}
	a := d.attrSet(content, b, meta)
	a.integer("burst_limit", &t.BurstLimit, 0, maxWholeNumber)
	a.number("rate_limit", &t.RateLimit, 0, math.MaxFloat64)
	return t
}

// decodeQuota decodes a usage plan's quota block.
func (d *decoder) decodeQuota(b *hcl.Block, meta *model.Meta) *model.Quota {
	content, diags := b.Body.Content(quotaSchema)
	d.addAll(diags)
	q := &model.Quota{}
	a := d.attrSet(content, b, meta)
	a.require("limit", "period")
	a.integer("limit", &q.Limit, 0, maxWholeNumber)
	a.enum("period", &q.Period, quotaPeriods)
	return q
}

// checkPlanKeys reports a key of usage plan u that another usage plan
// already puts on stage of api: as in API Gateway, a key may be in only one
// usage plan per API stage, or its throttle and quota would be ambiguous.
func (d *decoder) checkPlanKeys(u *model.UsagePlan, api, stage string, rng hcl.Range) {
	for _, key := range u.APIKeys {
		use := api + "\x00" + stage + "\x00" + key
		first, dup := d.planKeyUse[use]
		if !dup {
			d.planKeyUse[use] = keyDef{name: u.Name, rng: rng}
			continue
		}
		if first.name == u.Name {
			continue
		}
		d.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  SummaryAPIKeyInTwoPlans,
			Detail: fmt.Sprintf("api_key %q is in usage plan %q, which covers stage %q of api %q at %s, and in usage plan %q, which covers it too. A key may be in only one usage plan per API stage; take it out of one of them.",
				key, first.name, stage, api, posString(first.rng), u.Name),
			Subject: rng.Ptr(),
			Extra:   PreviousDefinition{Range: first.rng},
		})
	}
}
