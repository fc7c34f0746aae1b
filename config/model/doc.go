// Package model holds the plain, HCL-free Go types of a wsgwctl configuration:
// APIs, routes, integrations, authorizers, models, stages, the top-level api
// keys, usage plans, credentials and domain names, request-time templates and
// object addresses.
//
// The config package produces these values from *.wsgw.hcl files; plan, apply
// and runtime consume them. The package imports only the standard library and
// must never import HCL, cty or any other wsgwctl package, so that the runtime
// can depend on it without depending on the configuration language.
//
// Values are normalised: defaults are filled in (D-19), so an omitted default
// and an explicit one are equal, and slices are sorted by name. Meta fields
// (source ranges, sensitivity) describe where a value came from and are never
// part of its identity: they are excluded from JSON.
package model
