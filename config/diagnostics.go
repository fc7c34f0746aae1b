package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostic summaries produced by Load. The CLI and the tests share these
// strings; fixtures name them in their `# ERROR:` and `# WARNING:` markers.
// A few come from HCL itself (unsupported arguments and blocks, redefined
// attributes, unknown functions, function errors) and are listed here so that
// every summary Load can produce has one name.
const (
	// Structure (some produced by HCL's own schema decoding).
	SummaryUnsupportedArgument  = "Unsupported argument"
	SummaryUnsupportedBlockType = "Unsupported block type"
	SummaryMissingArgument      = "Missing required argument"
	SummaryAttributeRedefined   = "Attribute redefined"
	SummaryIncorrectType        = "Incorrect attribute value type"
	SummaryNoConfigFiles        = "No configuration files"
	SummaryReadFile             = "Failed to read file"
	SummaryTooManyStages        = "Too many stages"

	// References.
	SummaryInvalidReference       = "Invalid reference"
	SummaryUndeclaredIntegration  = "Reference to undeclared integration"
	SummaryUndeclaredAuthorizer   = "Reference to undeclared authorizer"
	SummaryUndeclaredModel        = "Reference to undeclared model"
	SummaryUndeclaredAPI          = "Reference to undeclared api"
	SummaryUndeclaredAPIKey       = "Reference to undeclared api_key"
	SummaryUndeclaredVariable     = "Reference to undeclared input variable"
	SummaryUndeclaredLocal        = "Reference to undeclared local value"
	SummaryUndeclaredStage        = "Reference to undeclared stage"
	SummaryUnknownFunction        = "Call to unknown function"
	SummaryFunctionCallError      = "Error in function call"
	SummaryInvalidFunctionArg     = "Invalid function argument"
	SummaryUnsupportedRequestTime = "Unsupported request-time expression"
	SummaryRequestTimeNotAllowed  = "Request-time variable not allowed here"
	SummaryLocalsCycle            = "Cycle in local values"

	// Variables.
	SummaryInvalidVariableValue   = "Invalid value for input variable"
	SummaryNoVariableValue        = "No value for required variable"
	SummaryUndeclaredVariableSet  = "Value for undeclared variable"
	SummaryInvalidVariableDefault = "Invalid default value for variable"
	SummaryInvalidVarOption       = "Invalid --var option"
	SummaryInvalidVariableType    = "Invalid type specification"

	// Values.
	SummaryInvalidName              = "Invalid name"
	SummaryInvalidRouteKey          = "Invalid route key"
	SummaryInvalidRouteResponseKey  = "Invalid route response key"
	SummaryInvalidResponseKey       = "Invalid response key"
	SummaryOnlyOnConnect            = "Attribute only allowed on $connect"
	SummaryMissingAuthorizer        = "Missing authorizer"
	SummaryAuthorizerNotAllowed     = "Authorizer not allowed"
	SummaryUnsupportedValue         = "Unsupported value"
	SummaryOutOfRange               = "Value out of range"
	SummaryInvalidSelection         = "Invalid selection expression"
	SummaryInvalidModelSchema       = "Invalid model schema"
	SummaryInvalidStageVariableName = "Invalid stage variable name"
	SummaryInvalidStageVariableVal  = "Invalid stage variable value"
	SummaryDuplicateMapping         = "Duplicate domain mapping"
	SummaryDuplicateAPIKeyValue     = "Duplicate api_key value"
	SummaryAPIKeyInTwoPlans         = "API key in two usage plans for one stage"
	SummaryInvalidRequestParameter  = "Invalid request parameter"
	SummaryInvalidIdentitySource    = "Invalid identity source"

	// Warnings.
	SummaryUnusedIntegration          = "Unused integration"
	SummaryUnusedAuthorizer           = "Unused authorizer"
	SummaryUnusedModel                = "Unused model"
	SummaryRouteSettingsUndefined     = "Route settings for undefined route"
	SummaryTwoWayWithoutIntegResponse = "Two-way route without integration response"
)

// Kinds of definitions named in "Duplicate <kind> definition" summaries.
const (
	KindAPI           = "api"
	KindIntegration   = "integration"
	KindAuthorizer    = "authorizer"
	KindModel         = "model"
	KindRoute         = "route"
	KindStage         = "stage"
	KindVariable      = "variable"
	KindLocal         = "local value"
	KindAPIKey        = "api_key"
	KindUsagePlan     = "usage_plan"
	KindCredentials   = "credentials"
	KindDomainName    = "domain_name"
	KindResponse      = "response"
	KindRouteSettings = "route_settings"
	KindRouteResponse = "route_response"
)

// DuplicateSummary returns the summary of the diagnostic for a second
// definition of a kind (one of the Kind constants), e.g.
// "Duplicate integration definition".
func DuplicateSummary(kind string) string {
	return fmt.Sprintf("Duplicate %s definition", kind)
}

// PreviousDefinition is the Extra value of a "Duplicate … definition"
// diagnostic: the range of the first definition, while the diagnostic's
// Subject is the second one.
type PreviousDefinition struct {
	Range hcl.Range
}

// PreviousDefinitionOf returns the first definition's range carried by a
// duplicate-definition diagnostic, if diag is one.
func PreviousDefinitionOf(diag *hcl.Diagnostic) (hcl.Range, bool) {
	if p, ok := diag.Extra.(PreviousDefinition); ok {
		return p.Range, true
	}
	return hcl.Range{}, false
}

// errorf returns an error diagnostic about subject.
func errorf(subject hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject.Ptr(),
	}
}

// warnf returns a warning diagnostic about subject.
func warnf(subject hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	d := errorf(subject, summary, format, args...)
	d.Severity = hcl.DiagWarning
	return d
}

// duplicate returns the diagnostic for a second definition of kind name at
// second, whose first definition is at first.
func duplicate(kind, name string, first, second hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  DuplicateSummary(kind),
		Detail: fmt.Sprintf("A %s named %q was already defined at %s. Each %s must have a unique name.",
			kind, name, posString(first), kind),
		Subject: second.Ptr(),
		Extra:   PreviousDefinition{Range: first},
	}
}

// posString renders a range's start as FILE:LINE.
func posString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}
