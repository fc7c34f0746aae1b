package model

import "strconv"

// Addresses name applied objects in plans, state and the CLI (D-15), e.g.
// `api.chat`, `api.chat.route["sendmessage"]`, `domain_name["ws.example.com"]`.

// APIAddress returns `api.NAME`.
func APIAddress(api string) string { return "api." + api }

// ChildAddress returns `api.API.KIND["NAME"]` for KIND route, integration,
// authorizer, model, stage or deployment.
func ChildAddress(api, kind, name string) string {
	return "api." + api + "." + kind + "[" + strconv.Quote(name) + "]"
}

// RouteAddress returns `api.API.route["KEY"]`.
func RouteAddress(api, key string) string { return ChildAddress(api, "route", key) }

// IntegrationAddress returns `api.API.integration["NAME"]`.
func IntegrationAddress(api, name string) string { return ChildAddress(api, "integration", name) }

// AuthorizerAddress returns `api.API.authorizer["NAME"]`.
func AuthorizerAddress(api, name string) string { return ChildAddress(api, "authorizer", name) }

// ModelAddress returns `api.API.model["NAME"]`.
func ModelAddress(api, name string) string { return ChildAddress(api, "model", name) }

// StageAddress returns `api.API.stage["NAME"]`.
func StageAddress(api, name string) string { return ChildAddress(api, "stage", name) }

// DeploymentAddress returns `api.API.deployment["ID"]`.
func DeploymentAddress(api, id string) string { return ChildAddress(api, "deployment", id) }

// APIKeyAddress returns `api_key.NAME`.
func APIKeyAddress(name string) string { return "api_key." + name }

// UsagePlanAddress returns `usage_plan.NAME`.
func UsagePlanAddress(name string) string { return "usage_plan." + name }

// CredentialsAddress returns `credentials.NAME`.
func CredentialsAddress(name string) string { return "credentials." + name }

// DomainNameAddress returns `domain_name["HOST"]`.
func DomainNameAddress(host string) string { return "domain_name[" + strconv.Quote(host) + "]" }
