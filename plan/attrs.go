package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// entry is one object on one side of a diff: its label, its attributes and
// the attributes its configuration marked sensitive.
type entry struct {
	name      string
	attrs     map[string]any
	sensitive []string
}

// alwaysSecret lists, per resource type, the attributes that are sensitive
// whatever their value came from (PL-9).
var alwaysSecret = map[string][]string{
	TypeAPIKey:      {"value"},
	TypeCredentials: {"secret_access_key"},
}

// sensitiveAlias maps a block name that Meta.Sensitive records to the
// attribute that holds the blocks: repeated blocks are one list attribute
// named in the plural, after the model's json names.
var sensitiveAlias = map[string]string{
	"response": "responses",
	"mapping":  "mappings",
	"stage":    "stages",
}

// attrsOf returns the attributes of v, one of the model's object types: its
// JSON encoding as generic values, without the members named in omit (its
// label and nested objects) and without members whose value is empty (null,
// "", [] or {}).
func attrsOf(v any, omit ...string) map[string]any {
	tree, err := toTree(v)
	if err != nil {
		// The model's types always encode; failing here is a programming
		// error.
		panic(fmt.Sprintf("plan: attributes of %T: %v", v, err))
	}
	m, ok := tree.(map[string]any)
	if !ok {
		panic(fmt.Sprintf("plan: attributes of %T: not an object", v))
	}
	for k, e := range m {
		// Only top-level empties go: inside a value, an empty string (a
		// domain mapping's base path "") is meaningful.
		if slices.Contains(omit, k) || isBlank(e) {
			delete(m, k)
		}
	}
	return m
}

// diff records the change from before to after (either nil when the object
// does not exist on that side) of the object typ/name of api at addr, and
// returns it; it returns nil when nothing changes.
func (b *builder) diff(typ, api, name, addr string, before, after *entry) *ResourceChange {
	if before == nil && after == nil {
		return nil
	}
	if after != nil && len(after.sensitive) > 0 {
		if b.next.Sensitive == nil {
			b.next.Sensitive = map[string][]string{}
		}
		b.next.Sensitive[addr] = slices.Sorted(slices.Values(after.sensitive))
	}
	c := &ResourceChange{Address: addr, Type: typ, Name: name, API: api}
	switch {
	case before == nil:
		c.Actions = []string{ActionCreate}
	case after == nil:
		c.Actions = []string{ActionDelete}
	default:
		if reflect.DeepEqual(before.attrs, after.attrs) {
			return nil
		}
		c.Actions = []string{ActionUpdate}
	}

	// Sensitivity: what the configuration marks now, what it marked when
	// the prior state was applied (state.State.Sensitive), and the
	// attributes that are always secret. Both sides share one set, so that
	// neither the old nor the new value of an update reveals a secret.
	sens := map[string]bool{}
	for _, a := range alwaysSecret[typ] {
		sens[a] = true
	}
	var marked []string
	if after != nil {
		marked = append(marked, after.sensitive...)
	}
	if before != nil {
		marked = append(marked, b.priorSensitive[addr]...)
	}
	for _, a := range marked {
		if alias, ok := sensitiveAlias[a]; ok {
			a = alias
		}
		sens[a] = true
	}
	if before != nil && after != nil {
		for a := range sens {
			if !reflect.DeepEqual(before.attrs[a], after.attrs[a]) {
				c.SensitiveChanged = append(c.SensitiveChanged, a)
			}
		}
		slices.Sort(c.SensitiveChanged)
	}
	if before != nil {
		c.Before, c.BeforeSensitive = masked(before.attrs, sens)
	}
	if after != nil {
		c.After, c.AfterSensitive = masked(after.attrs, sens)
	}
	b.changes = append(b.changes, c)
	return c
}

// masked returns a copy of attrs with the values of the sensitive
// attributes present replaced by nil, and the set of those attributes (nil
// when there are none).
func masked(attrs map[string]any, sens map[string]bool) (map[string]any, map[string]bool) {
	var marks map[string]bool
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		if sens[k] {
			if marks == nil {
				marks = map[string]bool{}
			}
			marks[k] = true
			v = nil
		}
		out[k] = v
	}
	return out, marks
}

// diffAll diffs two lists of entries of type typ by name and returns the
// changes made, keyed by name.
func (b *builder) diffAll(typ, api string, addr func(name string) string, before, after []entry) map[string]*ResourceChange {
	old := make(map[string]*entry, len(before))
	var names []string
	for i := range before {
		old[before[i].name] = &before[i]
		names = append(names, before[i].name)
	}
	cur := make(map[string]*entry, len(after))
	for i := range after {
		cur[after[i].name] = &after[i]
		if old[after[i].name] == nil {
			names = append(names, after[i].name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	out := map[string]*ResourceChange{}
	for _, n := range names {
		if c := b.diff(typ, api, n, addr(n), old[n], cur[n]); c != nil {
			out[n] = c
		}
	}
	return out
}

// Entry constructors, one per object type. Nil objects are skipped.

func apiEntry(a *model.API) *entry {
	if a == nil {
		return nil
	}
	return &entry{name: a.Name, attrs: attrsOf(a, "name", "routes", "integrations", "authorizers", "models", "stages"), sensitive: a.Meta.Sensitive}
}

// entriesOf returns an entry per non-nil object: its label (from id, along
// with its Meta) and its attributes without the label attribute.
func entriesOf[T any](objs []*T, label string, id func(*T) (string, model.Meta)) []entry {
	out := make([]entry, 0, len(objs))
	for _, o := range objs {
		if o == nil {
			continue
		}
		name, meta := id(o)
		out = append(out, entry{name: name, attrs: attrsOf(o, label), sensitive: meta.Sensitive})
	}
	return out
}

func routeEntries(rs []*model.Route) []entry {
	return entriesOf(rs, "key", func(r *model.Route) (string, model.Meta) { return r.Key, r.Meta })
}

func integrationEntries(is []*model.Integration) []entry {
	return entriesOf(is, "name", func(i *model.Integration) (string, model.Meta) { return i.Name, i.Meta })
}

func authorizerEntries(as []*model.Authorizer) []entry {
	return entriesOf(as, "name", func(a *model.Authorizer) (string, model.Meta) { return a.Name, a.Meta })
}

func modelEntries(ms []*model.Model) []entry {
	return entriesOf(ms, "name", func(m *model.Model) (string, model.Meta) { return m.Name, m.Meta })
}

// stageEntries returns the stages' entries with the extra attribute
// "deployment_id": the deployment each stage runs (from runs), when known.
func stageEntries(ss []*model.Stage, runs map[string]string) []entry {
	out := make([]entry, 0, len(ss))
	for _, s := range ss {
		if s == nil {
			continue
		}
		attrs := attrsOf(s, "name")
		if id := runs[s.Name]; id != "" {
			attrs["deployment_id"] = id
		}
		out = append(out, entry{name: s.Name, attrs: attrs, sensitive: s.Meta.Sensitive})
	}
	return out
}

func apiKeyEntries(ks []*model.APIKey) []entry {
	return entriesOf(ks, "name", func(k *model.APIKey) (string, model.Meta) { return k.Name, k.Meta })
}

func usagePlanEntries(us []*model.UsagePlan) []entry {
	return entriesOf(us, "name", func(u *model.UsagePlan) (string, model.Meta) { return u.Name, u.Meta })
}

func credentialsEntries(cs []*model.Credentials) []entry {
	return entriesOf(cs, "name", func(c *model.Credentials) (string, model.Meta) { return c.Name, c.Meta })
}

func domainNameEntries(ds []*model.DomainName) []entry {
	return entriesOf(ds, "host", func(d *model.DomainName) (string, model.Meta) { return d.Host, d.Meta })
}

// topLevel holds the top-level objects of a configuration or a state.
type topLevel struct {
	apiKeys     []*model.APIKey
	usagePlans  []*model.UsagePlan
	credentials []*model.Credentials
	domainNames []*model.DomainName
}

// planTopLevel diffs the api keys, usage plans, credentials and domain names.
func (b *builder) planTopLevel(before, after topLevel) {
	b.diffAll(TypeAPIKey, "", model.APIKeyAddress, apiKeyEntries(before.apiKeys), apiKeyEntries(after.apiKeys))
	b.diffAll(TypeUsagePlan, "", model.UsagePlanAddress, usagePlanEntries(before.usagePlans), usagePlanEntries(after.usagePlans))
	b.diffAll(TypeCredentials, "", model.CredentialsAddress, credentialsEntries(before.credentials), credentialsEntries(after.credentials))
	b.diffAll(TypeDomainName, "", model.DomainNameAddress, domainNameEntries(before.domainNames), domainNameEntries(after.domainNames))
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

// isBlank reports whether a generic JSON value is null, "", [] or {}. Unlike
// model.CanonicalJSON's notion of empty, false and 0 are values an attribute
// shows.
func isBlank(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}
