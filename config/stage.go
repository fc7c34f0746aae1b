package config

import (
	"math"

	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
)

var loggingLevels = []string{model.LoggingError, model.LoggingInfo, model.LoggingOff}

var stageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "deployment"},
		{Name: "description"},
		{Name: "variables"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "default_route_settings"},
		{Type: "route_settings", LabelNames: []string{"route_key"}},
		{Type: "access_log"},
	},
}

var routeSettingsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "throttling_burst_limit"},
	{Name: "throttling_rate_limit"},
	{Name: "logging_level"},
	{Name: "data_trace_enabled"},
	{Name: "detailed_metrics_enabled"},
}}

var accessLogSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "destination"},
	{Name: "format"},
}}

// decodeStageBlock decodes a `stage "NAME"` block of an API. It returns
// false for a duplicate, which is not counted towards the stage limit.
func (d *decoder) decodeStageBlock(info *apiInfo, b *hcl.Block) bool {
	name := b.Labels[0]
	d.checkName(KindStage, name, b.LabelRanges[0])
	if !d.define(info.api.Name, KindStage, name, b.DefRange) {
		return false
	}
	content, diags := b.Body.Content(stageSchema)
	d.addAll(diags)
	st := &model.Stage{
		Name:                 name,
		DefaultRouteSettings: model.DefaultRouteSettings(),
		Meta:                 model.Meta{Range: toRange(b.DefRange)},
	}
	info.stages[name] = st
	info.api.Stages = append(info.api.Stages, st)

	a := d.attrSet(content, b, &st.Meta)
	if a.str("deployment", &st.Deployment) {
		st.DeploymentRange = toRange(a.get("deployment").Expr.Range())
	}
	a.str("description", &st.Description)
	if entries, _ := a.stringMap("variables"); len(entries) > 0 {
		st.Variables = map[string]string{}
		for _, e := range entries {
			if d.checkStageVariable(e.Key, e.Value.AsString(), e.KeyRange, e.ValueRange) {
				st.Variables[e.Key] = e.Value.AsString()
			}
		}
	}

	// The defaults first: route_settings inherit from them whatever the
	// order in the source.
	seen := map[string]hcl.Range{}
	singleton := func(nb *hcl.Block) bool {
		if first, ok := seen[nb.Type]; ok {
			d.add(duplicate(nb.Type, nb.Type, first, nb.DefRange))
			return false
		}
		seen[nb.Type] = nb.DefRange
		return true
	}
	for _, nb := range content.Blocks {
		if nb.Type == "default_route_settings" && singleton(nb) {
			d.decodeRouteSettings(nb, &st.DefaultRouteSettings, &st.Meta, "default_route_settings")
		}
	}
	for _, nb := range content.Blocks {
		switch nb.Type {
		case "route_settings":
			key := nb.Labels[0]
			if !d.define(info.api.Name+"\x00stage "+name, KindRouteSettings, key, nb.DefRange) {
				continue
			}
			info.routeSettings = append(info.routeSettings, labelRef{label: key, rng: nb.LabelRanges[0]})
			rs := st.DefaultRouteSettings
			d.decodeRouteSettings(nb, &rs, &st.Meta, "route_settings")
			if st.RouteSettings == nil {
				st.RouteSettings = map[string]model.RouteSettings{}
			}
			st.RouteSettings[key] = rs
		case "access_log":
			if singleton(nb) {
				st.AccessLog = d.decodeAccessLog(nb, &st.Meta)
			}
		}
	}
	return true
}

// decodeRouteSettings decodes a default_route_settings or route_settings
// block onto rs, which holds the inherited values. Sensitivity is recorded
// on the stage as attribute blockName.
func (d *decoder) decodeRouteSettings(b *hcl.Block, rs *model.RouteSettings, stageMeta *model.Meta, blockName string) {
	content, diags := b.Body.Content(routeSettingsSchema)
	d.addAll(diags)
	var meta model.Meta
	a := d.attrSet(content, b, &meta)
	a.integer("throttling_burst_limit", &rs.ThrottlingBurstLimit, 0, maxWholeNumber)
	a.number("throttling_rate_limit", &rs.ThrottlingRateLimit, 0, math.MaxFloat64)
	a.enum("logging_level", &rs.LoggingLevel, loggingLevels)
	a.boolean("data_trace_enabled", &rs.DataTraceEnabled)
	a.boolean("detailed_metrics_enabled", &rs.DetailedMetricsEnabled)
	if len(meta.Sensitive) > 0 {
		(&attrSet{meta: stageMeta}).markSensitive(blockName)
	}
}

// decodeAccessLog decodes a stage's access_log block.
func (d *decoder) decodeAccessLog(b *hcl.Block, stageMeta *model.Meta) *model.AccessLog {
	content, diags := b.Body.Content(accessLogSchema)
	d.addAll(diags)
	var meta model.Meta
	a := d.attrSet(content, b, &meta)
	al := &model.AccessLog{}
	a.require("destination", "format")
	if a.str("destination", &al.Destination) && al.Destination == "" {
		d.add(errorf(a.get("destination").Expr.Range(), SummaryUnsupportedValue,
			"The access log destination must be \"stdout\", \"stderr\" or a file path; it must not be empty."))
	}
	a.str("format", &al.Format)
	if len(meta.Sensitive) > 0 {
		(&attrSet{meta: stageMeta}).markSensitive("access_log")
	}
	return al
}
