package model

// Config is the desired configuration: everything the *.wsgw.hcl files of one
// configuration directory describe, with var and local values resolved and
// request-time expressions kept symbolic. Every slice is sorted by name (routes
// by key), so that two loads of the same files produce equal values.
type Config struct {
	APIs        []*API         `json:"apis"`
	APIKeys     []*APIKey      `json:"api_keys,omitempty"`
	UsagePlans  []*UsagePlan   `json:"usage_plans,omitempty"`
	Credentials []*Credentials `json:"credentials,omitempty"`
	DomainNames []*DomainName  `json:"domain_names,omitempty"`
}

// API is one `api "NAME"` block and everything nested in it.
type API struct {
	Name string `json:"name"`
	// Protocol is always "WEBSOCKET".
	Protocol                 string `json:"protocol"`
	Description              string `json:"description,omitempty"`
	RouteSelectionExpression string `json:"route_selection_expression"`
	// APIKeySelectionExpression defaults to "$request.header.x-api-key".
	APIKeySelectionExpression string `json:"api_key_selection_expression"`

	Routes       []*Route       `json:"routes,omitempty"`
	Integrations []*Integration `json:"integrations,omitempty"`
	Authorizers  []*Authorizer  `json:"authorizers,omitempty"`
	Models       []*Model       `json:"models,omitempty"`
	Stages       []*Stage       `json:"stages,omitempty"`

	Meta Meta `json:"-"`
}

// Integration types.
const (
	IntegrationHTTPProxy = "HTTP_PROXY"
	IntegrationHTTP      = "HTTP"
	IntegrationMock      = "MOCK"
	IntegrationAWSProxy  = "AWS_PROXY"
)

// Passthrough behaviours.
const (
	PassthroughWhenNoMatch     = "WHEN_NO_MATCH"
	PassthroughWhenNoTemplates = "WHEN_NO_TEMPLATES"
	PassthroughNever           = "NEVER"
)

// Integration is an `integration "NAME"` block.
type Integration struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// URI is evaluated per stage and request (CFG-2); empty for MOCK.
	URI Template `json:"uri"`
	// Method defaults to "POST".
	Method string `json:"method"`
	// TimeoutMS defaults to 29000 (range 50..29000).
	TimeoutMS int `json:"timeout_ms"`
	// RequestParameters maps "integration.request.header.NAME" or
	// "integration.request.querystring.NAME" to a source in AWS mapping syntax
	// ("context.connectionId", "'static'", ...), see D-24.
	RequestParameters map[string]string `json:"request_parameters,omitempty"`
	// RequestTemplates maps a template key (the value of the template
	// selection expression, or "$default") to a template.
	RequestTemplates            map[string]Template `json:"request_templates,omitempty"`
	TemplateSelectionExpression string              `json:"template_selection_expression,omitempty"`
	// PassthroughBehavior defaults to "WHEN_NO_MATCH".
	PassthroughBehavior string `json:"passthrough_behavior"`
	// ContentHandling is "", "CONVERT_TO_TEXT" or "CONVERT_TO_BINARY".
	ContentHandling string `json:"content_handling,omitempty"`
	// Responses are the integration responses in source order (D-44: the first
	// matching /regex/ wins, then $default).
	Responses []*IntegrationResponse `json:"responses,omitempty"`

	Meta Meta `json:"-"`
}

// IntegrationResponse is a `response "KEY"` block inside an integration.
type IntegrationResponse struct {
	// Key is "$default" or "/regex/" matched against the whole status code.
	Key                         string              `json:"key"`
	Templates                   map[string]Template `json:"templates,omitempty"`
	TemplateSelectionExpression string              `json:"template_selection_expression,omitempty"`
}

// Authorizer is an `authorizer "NAME"` block.
type Authorizer struct {
	Name string `json:"name"`
	// Type is always "REQUEST".
	Type string `json:"type"`
	// URI may use stageVariables only (D-24).
	URI             Template `json:"uri"`
	IdentitySources []string `json:"identity_sources,omitempty"`
	// TimeoutMS defaults to 10000.
	TimeoutMS int `json:"timeout_ms"`
	// ResultTTLSeconds defaults to 0 (no caching).
	ResultTTLSeconds int `json:"result_ttl_seconds"`

	Meta Meta `json:"-"`
}

// Model is a `model "NAME"` block: a JSON Schema draft 4 document.
type Model struct {
	Name   string `json:"name"`
	Schema string `json:"schema"`
	// ContentType defaults to "application/json".
	ContentType string `json:"content_type"`

	Meta Meta `json:"-"`
}

// Route authorization types.
const (
	AuthorizationNone   = "NONE"
	AuthorizationCustom = "CUSTOM"
	AuthorizationIAM    = "AWS_IAM"
)

// Reserved route keys.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// Route is a `route "KEY"` block.
type Route struct {
	Key string `json:"key"`
	// Integration is the name of an integration of the same API, or "".
	Integration string `json:"integration,omitempty"`
	// Authorization defaults to "NONE".
	Authorization string `json:"authorization"`
	// Authorizer is the name of an authorizer of the same API, or "".
	Authorizer               string `json:"authorizer,omitempty"`
	APIKeyRequired           bool   `json:"api_key_required"`
	ModelSelectionExpression string `json:"model_selection_expression,omitempty"`
	// RequestModels maps a model key to the name of a model of the same API.
	RequestModels                    map[string]string `json:"request_models,omitempty"`
	RouteResponseSelectionExpression string            `json:"route_response_selection_expression,omitempty"`
	// TwoWay is true when the route has a `route_response "$default" {}` block.
	TwoWay bool `json:"two_way"`

	Meta Meta `json:"-"`
}

// Stage is a `stage "NAME"` block. Stage settings never enter a deployment.
type Stage struct {
	Name string `json:"name"`
	// Deployment pins the stage to a deployment id; "" means the API's newest.
	Deployment  string            `json:"deployment,omitempty"`
	Description string            `json:"description,omitempty"`
	Variables   map[string]string `json:"variables,omitempty"`
	// DefaultRouteSettings has every default filled in (D-19).
	DefaultRouteSettings RouteSettings `json:"default_route_settings"`
	// RouteSettings maps a route key to its effective settings: the fields the
	// `route_settings` block sets, and the rest inherited from
	// DefaultRouteSettings.
	RouteSettings map[string]RouteSettings `json:"route_settings,omitempty"`
	AccessLog     *AccessLog               `json:"access_log,omitempty"`

	// DeploymentRange is where the `deployment` attribute is written, for
	// diagnostics about a pin that does not exist (reported by plan).
	DeploymentRange Range `json:"-"`
	Meta            Meta  `json:"-"`
}

// Logging levels.
const (
	LoggingOff   = "OFF"
	LoggingError = "ERROR"
	LoggingInfo  = "INFO"
)

// Default throttling of a stage (AWS's account defaults).
const (
	DefaultThrottlingBurstLimit = 5000
	DefaultThrottlingRateLimit  = 10000
)

// RouteSettings are per-route (or default) stage settings.
type RouteSettings struct {
	ThrottlingBurstLimit   int     `json:"throttling_burst_limit"`
	ThrottlingRateLimit    float64 `json:"throttling_rate_limit"`
	LoggingLevel           string  `json:"logging_level"`
	DataTraceEnabled       bool    `json:"data_trace_enabled"`
	DetailedMetricsEnabled bool    `json:"detailed_metrics_enabled"`
}

// DefaultRouteSettings returns the settings a stage has when it sets none.
func DefaultRouteSettings() RouteSettings {
	return RouteSettings{
		ThrottlingBurstLimit: DefaultThrottlingBurstLimit,
		ThrottlingRateLimit:  DefaultThrottlingRateLimit,
		LoggingLevel:         LoggingOff,
	}
}

// AccessLog is a stage's `access_log` block.
type AccessLog struct {
	// Destination is "stdout", "stderr" or a file path.
	Destination string `json:"destination"`
	// Format uses $context.X variables.
	Format string `json:"format"`
}

// APIKey is a top-level `api_key "NAME"` block. Value is a secret.
type APIKey struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Enabled defaults to true.
	Enabled bool `json:"enabled"`

	Meta Meta `json:"-"`
}

// UsagePlan is a top-level `usage_plan "NAME"` block.
type UsagePlan struct {
	Name     string           `json:"name"`
	Stages   []UsagePlanStage `json:"stages,omitempty"`
	Throttle *Throttle        `json:"throttle,omitempty"`
	Quota    *Quota           `json:"quota,omitempty"`
	// APIKeys are names of api_key blocks.
	APIKeys []string `json:"api_keys,omitempty"`

	Meta Meta `json:"-"`
}

// UsagePlanStage is one `stage { api = api.X, stage = "S" }` of a usage plan.
type UsagePlanStage struct {
	API   string `json:"api"`
	Stage string `json:"stage"`
}

// Throttle is a usage plan's `throttle` block.
type Throttle struct {
	BurstLimit int     `json:"burst_limit"`
	RateLimit  float64 `json:"rate_limit"`
}

// Quota is a usage plan's `quota` block; Period is DAY, WEEK or MONTH.
type Quota struct {
	Limit  int    `json:"limit"`
	Period string `json:"period"`
}

// Credentials is a top-level `credentials "NAME"` block. SecretAccessKey is a
// secret.
type Credentials struct {
	Name            string `json:"name"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`

	Meta Meta `json:"-"`
}

// DomainName is a top-level `domain_name "HOST"` block.
type DomainName struct {
	Host            string    `json:"host"`
	CertificateFile string    `json:"certificate_file,omitempty"`
	PrivateKeyFile  string    `json:"private_key_file,omitempty"`
	Mappings        []Mapping `json:"mappings,omitempty"`

	Meta Meta `json:"-"`
}

// Mapping maps a base path of a domain name to an API stage.
type Mapping struct {
	// BasePath may be "".
	BasePath string `json:"base_path"`
	API      string `json:"api"`
	Stage    string `json:"stage"`
}

// Meta is information about where an object came from. It is not part of the
// object's value: it never enters state or a deployment hash.
type Meta struct {
	// Range is the object's block header.
	Range Range
	// Sensitive lists the attribute names (as written in HCL, e.g. "uri") whose
	// value derives from a variable declared sensitive. Secrets that are always
	// sensitive (api_key.value, credentials.secret_access_key) are not listed:
	// consumers treat them as sensitive by definition.
	Sensitive []string
}

// IsSensitive reports whether the attribute named attr was marked sensitive.
func (m Meta) IsSensitive(attr string) bool {
	for _, s := range m.Sensitive {
		if s == attr {
			return true
		}
	}
	return false
}

// Range is a span of configuration source, 1-based lines and columns, 0-based
// byte offsets, like hcl.Range but free of HCL.
type Range struct {
	Filename string `json:"filename"`
	Start    Pos    `json:"start"`
	End      Pos    `json:"end"`
}

// Pos is a position in a source file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// DeploymentSnapshot is the content of a deployment (PL-2, D-17): everything
// that decides how a message is handled, with var/local values resolved.
// It excludes descriptions and the API's name, so the same content in two
// APIs yields the same deployment id. Stage settings never enter it.
type DeploymentSnapshot struct {
	RouteSelectionExpression  string         `json:"route_selection_expression"`
	APIKeySelectionExpression string         `json:"api_key_selection_expression"`
	Routes                    []*Route       `json:"routes"`
	Integrations              []*Integration `json:"integrations"`
	Authorizers               []*Authorizer  `json:"authorizers"`
	Models                    []*Model       `json:"models"`
}
