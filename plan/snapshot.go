package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// deploymentIDHexDigits is how many hex digits of the snapshot hash a
// deployment id carries (PL-2: "d-" followed by 10 hex digits).
const deploymentIDHexDigits = 10

// Snapshot returns the deployment snapshot of api (PL-2, D-17): its route and
// API key selection expressions, routes, integrations, authorizers and
// models, each slice sorted by name (routes by key) and never nil. The API's
// name, its description and its stages are not part of it. The snapshot
// shares the route, integration, authorizer and model values of api.
func Snapshot(api *model.API) model.DeploymentSnapshot {
	s := model.DeploymentSnapshot{
		RouteSelectionExpression:  api.RouteSelectionExpression,
		APIKeySelectionExpression: api.APIKeySelectionExpression,
		Routes:                    slices.Clone(api.Routes),
		Integrations:              slices.Clone(api.Integrations),
		Authorizers:               slices.Clone(api.Authorizers),
		Models:                    slices.Clone(api.Models),
	}
	if s.Routes == nil {
		s.Routes = []*model.Route{}
	}
	if s.Integrations == nil {
		s.Integrations = []*model.Integration{}
	}
	if s.Authorizers == nil {
		s.Authorizers = []*model.Authorizer{}
	}
	if s.Models == nil {
		s.Models = []*model.Model{}
	}
	slices.SortStableFunc(s.Routes, func(a, b *model.Route) int { return strings.Compare(a.Key, b.Key) })
	slices.SortStableFunc(s.Integrations, func(a, b *model.Integration) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(s.Authorizers, func(a, b *model.Authorizer) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(s.Models, func(a, b *model.Model) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// DeploymentID returns the id of a deployment with snapshot s: "d-" and the
// first 10 hex digits of the SHA-256 of the snapshot's canonical form (PL-2).
//
// The canonical form is the snapshot's JSON encoding (model json names) with
// every object's members sorted by name, no insignificant whitespace, no HTML
// escaping, and without members whose value is empty (null, "", false, 0, []
// or {}): decoding treats an absent member as its zero value, so an empty
// member carries no information, and dropping it keeps existing ids stable
// when the model gains a field. Any "description" member is dropped as well
// (D-17). Identical content therefore yields the identical id on every
// machine and in every directory.
func DeploymentID(s model.DeploymentSnapshot) string {
	sum := sha256.Sum256(canonicalSnapshot(s))
	return "d-" + hex.EncodeToString(sum[:])[:deploymentIDHexDigits]
}

// canonicalSnapshot returns the canonical form of s (see DeploymentID).
func canonicalSnapshot(s model.DeploymentSnapshot) []byte {
	return canonicalJSON(s, "description")
}

// ConfigHash returns the SHA-256, in hex, of the canonical JSON form of cfg
// (see DeploymentID; descriptions are kept here), secrets included. A saved
// plan records it so that a damaged plan file is detected.
func ConfigHash(cfg *model.Config) string {
	if cfg == nil {
		cfg = &model.Config{}
	}
	sum := sha256.Sum256(canonicalJSON(cfg, ""))
	return hex.EncodeToString(sum[:])
}

// canonicalJSON is model.CanonicalJSON for the model's own types, which
// always encode: failing here is a programming error.
func canonicalJSON(v any, drop string) []byte {
	b, err := model.CanonicalJSON(v, drop)
	if err != nil {
		panic(fmt.Sprintf("plan: canonical form: %v", err))
	}
	return b
}
