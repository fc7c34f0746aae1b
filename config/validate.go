package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	// nameRE is the syntax of object names (D-22).
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// hostLabelRE is one label of a host name.
	hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	// stageVarNameRE and stageVarValueRE are the character sets of stage
	// variables (§3.2).
	stageVarNameRE  = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	stageVarValueRE = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#&=,]+$`)
	// requestParamKeyRE is the target of a request parameter.
	requestParamKeyRE = regexp.MustCompile(`^integration\.request\.(header|querystring)\.[!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z]+$`)
	// identRE is a context or stage variable name.
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	// headerNameRE is an HTTP header or query parameter name.
	headerNameRE = regexp.MustCompile(`^[!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z]+$`)
	// bodyPathRE is a JSON path of D-38: dot names, ['name'] and [N].
	bodyPathRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*|\['[^']*'\]|\[[0-9]+\])*$`)
)

// checkName reports a label of kind that is not [A-Za-z0-9_-]+ (D-22).
func (d *decoder) checkName(kind, name string, rng hcl.Range) bool {
	if nameRE.MatchString(name) {
		return true
	}
	d.add(errorf(rng, SummaryInvalidName,
		"The %s name %q is not valid: names may contain only letters, digits, underscores and dashes.", kind, name))
	return false
}

// validHostName reports whether host is a DNS host name, optionally with a
// leading "*." wildcard label.
func validHostName(host string) bool {
	h := strings.TrimPrefix(host, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if !hostLabelRE.MatchString(label) {
			return false
		}
	}
	return true
}

// checkStageVariable reports a stage variable whose name or value is
// outside the allowed characters.
func (d *decoder) checkStageVariable(name, value string, keyRange, valueRange hcl.Range) bool {
	ok := true
	if !stageVarNameRE.MatchString(name) {
		d.add(errorf(keyRange, SummaryInvalidStageVariableName,
			"The stage variable name %q is not valid: names may contain only letters, digits and underscores.", name))
		ok = false
	}
	if !stageVarValueRE.MatchString(value) {
		d.add(errorf(valueRange, SummaryInvalidStageVariableVal,
			"The value %q of stage variable %q is not valid: values are non-empty and may contain only letters, digits and the characters - . _ ~ : / ? # & = ,", value, name))
		ok = false
	}
	return ok
}

// checkRequestParameter checks one request_parameters entry (D-24): the key
// is integration.request.header.NAME or integration.request.querystring.NAME
// and the value a source in AWS mapping syntax.
func (d *decoder) checkRequestParameter(key, value string, keyRange, valueRange hcl.Range) bool {
	if !requestParamKeyRE.MatchString(key) {
		d.add(errorf(keyRange, SummaryInvalidRequestParameter,
			"The request parameter %q is not valid: a key is integration.request.header.NAME or integration.request.querystring.NAME.", key))
		return false
	}
	if !validParameterSource(value) {
		d.add(errorf(valueRange, SummaryInvalidRequestParameter,
			"The source %q of request parameter %q is not valid: a source is context.NAME, stageVariables.NAME, route.request.header.NAME, route.request.querystring.NAME, route.request.body.PATH or a 'static' value in single quotes.",
			value, key))
		return false
	}
	return true
}

// validParameterSource reports whether s is a request parameter source.
func validParameterSource(s string) bool {
	switch {
	case len(s) >= 2 && strings.HasPrefix(s, "'") && strings.HasSuffix(s, "'"):
		return !strings.Contains(s[1:len(s)-1], "'")
	case strings.HasPrefix(s, "context."):
		return identRE.MatchString(strings.TrimPrefix(s, "context."))
	case strings.HasPrefix(s, "stageVariables."):
		return stageVarNameRE.MatchString(strings.TrimPrefix(s, "stageVariables."))
	case strings.HasPrefix(s, "route.request.header."):
		return headerNameRE.MatchString(strings.TrimPrefix(s, "route.request.header."))
	case strings.HasPrefix(s, "route.request.querystring."):
		return headerNameRE.MatchString(strings.TrimPrefix(s, "route.request.querystring."))
	case strings.HasPrefix(s, "route.request.body."):
		return bodyPathRE.MatchString(strings.TrimPrefix(s, "route.request.body."))
	}
	return false
}

// checkIdentitySource checks one authorizer identity source (§3.2).
func (d *decoder) checkIdentitySource(s string, rng hcl.Range) bool {
	var ok bool
	switch {
	case strings.HasPrefix(s, "route.request.header."):
		ok = headerNameRE.MatchString(strings.TrimPrefix(s, "route.request.header."))
	case strings.HasPrefix(s, "route.request.querystring."):
		ok = headerNameRE.MatchString(strings.TrimPrefix(s, "route.request.querystring."))
	case strings.HasPrefix(s, "stageVariables."):
		ok = stageVarNameRE.MatchString(strings.TrimPrefix(s, "stageVariables."))
	case strings.HasPrefix(s, "context."):
		ok = identRE.MatchString(strings.TrimPrefix(s, "context."))
	}
	if !ok {
		d.add(errorf(rng, SummaryInvalidIdentitySource,
			"The identity source %q is not valid: use route.request.header.NAME, route.request.querystring.NAME, stageVariables.NAME or context.NAME.", s))
	}
	return ok
}

// noLoader refuses every external schema reference, so that compiling a
// model never reads files or the network.
type noLoader struct{}

// Load implements jsonschema.URLLoader.
func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not supported (%s)", url)
}

// modelSchemaURL is the location a model's schema is compiled under.
const modelSchemaURL = "urn:wsgwctl:model"

// checkModelSchema reports a model schema that is not JSON or not a valid
// JSON Schema draft 4 document (D-23).
func (d *decoder) checkModelSchema(schema string, rng hcl.Range) bool {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		d.add(errorf(rng, SummaryInvalidModelSchema, "The model schema is not valid JSON: %s.", err))
		return false
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(noLoader{})
	if err := c.AddResource(modelSchemaURL, doc); err != nil {
		d.add(errorf(rng, SummaryInvalidModelSchema, "The model schema cannot be used: %s.", oneLine(err.Error())))
		return false
	}
	if _, err := c.Compile(modelSchemaURL); err != nil {
		d.add(errorf(rng, SummaryInvalidModelSchema,
			"The model schema is not a valid JSON Schema draft 4 document: %s.", oneLine(err.Error())))
		return false
	}
	return true
}

// oneLine joins the lines of a multi-line message.
func oneLine(s string) string {
	fields := strings.Fields(strings.ReplaceAll(s, "\n", "; "))
	return strings.TrimSuffix(strings.Join(fields, " "), ".")
}
