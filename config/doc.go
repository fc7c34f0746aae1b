// Package config loads a wsgwctl configuration directory (every *.wsgw.hcl file
// directly inside it, FS-1) into the plain model of package config/model, and
// formats configuration files canonically (fmt).
//
// It owns the configuration language of SPEC §3: one decodeXBlock function per
// block type, variables with the precedence default < WSGW_VAR_* < --var-file <
// --var, locals, the function set (including file() and templatefile()
// resolved against the configuration directory), static references between
// blocks, request-time expressions kept symbolic, and every validation rule of
// §3.4. Problems are returned as hcl.Diagnostics with exact source ranges, all
// of them from one run; this package never prints.
//
// Layout: load.go drives Load; variables.go, locals.go, functions.go and
// eval.go build the evaluation context; one file per block type holds its
// decodeXBlock (api.go, integration.go, authorizer.go, model_block.go,
// route.go, stage.go, api_key.go, usage_plan.go, credentials.go,
// domain_name.go); requesttime.go keeps request-time expressions symbolic
// and converts selection expressions; validate.go holds the value checks;
// diagnostics.go names every diagnostic summary. Unused-object warnings are
// left out for an API that has errors, where a broken reference would make
// its target look unused.
//
// It must not import plan, apply or runtime.
package config
