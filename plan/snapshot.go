package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// canonicalJSON encodes v canonically: sorted object members, no whitespace,
// no HTML escaping, empty members (and members named drop, when not "")
// removed. v must be one of the model's types, which always encode.
func canonicalJSON(v any, drop string) []byte {
	tree, err := toTree(v)
	if err != nil {
		// The model's types always encode and decode; failing here is a
		// programming error.
		panic(fmt.Sprintf("plan: canonical form: %v", err))
	}
	tree = prune(tree, drop, true)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tree); err != nil {
		panic(fmt.Sprintf("plan: canonical form: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// toTree converts v into generic JSON values (map[string]any, []any, string,
// json.Number, bool, nil) through its JSON encoding.
func toTree(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return tree, nil
}

// prune removes, recursively, object members whose value is empty or whose
// name is drop (when drop is not ""). Empty means null, "", [] or {}, and
// with zeros also false and 0 (see isEmpty). Array elements are kept, since
// their position is meaningful.
func prune(v any, drop string, zeros bool) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if drop != "" && k == drop {
				delete(v, k)
				continue
			}
			e = prune(e, drop, zeros)
			if isEmpty(e, zeros) {
				delete(v, k)
				continue
			}
			v[k] = e
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = prune(e, drop, zeros)
		}
		return v
	}
	return v
}

// isEmpty reports whether a generic JSON value is null, "", [] or {}, or,
// with zeros, false or 0.
func isEmpty(v any, zeros bool) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return zeros && !v
	case json.Number:
		f, err := v.Float64()
		return zeros && err == nil && f == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}
