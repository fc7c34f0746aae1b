package plan

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// maxReasonRefs is how many triggering objects a deployment's Reason names
// before summarising the rest as "and N more"; TriggeredBy lists them all.
const maxReasonRefs = 10

// planAPI plans the API named name: d is its desired configuration and o its
// applied state, either nil.
func (b *builder) planAPI(name string, d *model.API, o *state.API) {
	var oc *model.API
	var oldRuns map[string]string
	if o != nil {
		oc = o.Config
		oldRuns = o.StageDeployments
	}
	if d == nil {
		b.deleteAPI(name, o)
		return
	}
	var old model.API
	if oc != nil {
		old = *oc
	}

	b.diff(TypeAPI, name, name, model.APIAddress(name), apiEntry(oc), apiEntry(d))
	child := func(kind string) func(string) string {
		return func(n string) string { return model.ChildAddress(name, kind, n) }
	}
	b.diffAll(TypeIntegration, name, child(TypeIntegration), integrationEntries(old.Integrations), integrationEntries(d.Integrations))
	b.diffAll(TypeAuthorizer, name, child(TypeAuthorizer), authorizerEntries(old.Authorizers), authorizerEntries(d.Authorizers))
	b.diffAll(TypeModel, name, child(TypeModel), modelEntries(old.Models), modelEntries(d.Models))
	b.diffAll(TypeRoute, name, child(TypeRoute), routeEntries(old.Routes), routeEntries(d.Routes))

	runs := b.planDeployments(name, d, o)
	stageChanges := b.diffAll(TypeStage, name, child(TypeStage), stageEntries(old.Stages, oldRuns), stageEntries(d.Stages, runs))
	for stage, c := range stageChanges {
		from, to := oldRuns[stage], runs[stage]
		if c.Action() == ActionUpdate && from != to && from != "" && to != "" {
			c.Reason = fmt.Sprintf("deployment %q → %q", from, to)
		}
	}

	id := ""
	if o != nil {
		id = o.ID
	}
	b.next.APIs = append(b.next.APIs, &state.API{ID: id, Config: d, StageDeployments: runs, Deployments: b.kept})
}

// deleteAPI plans the deletion of the applied API o and everything in it.
func (b *builder) deleteAPI(name string, o *state.API) {
	if o == nil || o.Config == nil {
		return
	}
	oc := o.Config
	child := func(kind string) func(string) string {
		return func(n string) string { return model.ChildAddress(name, kind, n) }
	}
	b.diff(TypeAPI, name, name, model.APIAddress(name), apiEntry(oc), nil)
	b.diffAll(TypeIntegration, name, child(TypeIntegration), integrationEntries(oc.Integrations), nil)
	b.diffAll(TypeAuthorizer, name, child(TypeAuthorizer), authorizerEntries(oc.Authorizers), nil)
	b.diffAll(TypeModel, name, child(TypeModel), modelEntries(oc.Models), nil)
	b.diffAll(TypeRoute, name, child(TypeRoute), routeEntries(oc.Routes), nil)
	b.diffAll(TypeStage, name, child(TypeStage), stageEntries(oc.Stages, o.StageDeployments), nil)
	for _, dep := range o.Deployments {
		if dep != nil {
			b.diff(TypeDeployment, name, dep.ID, model.DeploymentAddress(name, dep.ID), deploymentEntry(dep), nil)
		}
	}
}

// planDeployments decides the API's deployments (PL-2..PL-4, PL-7): whether
// the desired snapshot needs a new deployment, which deployment each desired
// stage runs (returned, by stage name), and which deployments the history
// keeps (left in b.kept). It records the deployment changes and problems.
func (b *builder) planDeployments(name string, d *model.API, o *state.API) map[string]string {
	snap := Snapshot(d)
	id := DeploymentID(snap)

	var history []*state.Deployment
	var oldRuns map[string]string
	if o != nil {
		oldRuns = o.StageDeployments
		for _, dep := range o.Deployments {
			if dep != nil {
				history = append(history, dep)
			}
		}
	}
	var base *model.DeploymentSnapshot
	if bd := baseDeployment(o); bd != nil {
		base = &bd.Snapshot
	}
	triggers := diffSnapshots(base, &snap)
	triggeredBy := make([]string, len(triggers))
	for i, t := range triggers {
		triggeredBy[i] = t.address(name)
	}

	var created *state.Deployment
	if !slices.ContainsFunc(history, func(dep *state.Deployment) bool { return dep.ID == id }) {
		created = &state.Deployment{ID: id, TriggeredBy: triggeredBy, Snapshot: snap}
		history = append(history, created)
	}
	known := make(map[string]bool, len(history))
	for _, dep := range history {
		known[dep.ID] = true
	}

	// Which deployment each stage runs after this plan.
	stages := slices.Clone(d.Stages)
	slices.SortFunc(stages, func(a, b *model.Stage) int { return strings.Compare(a.Name, b.Name) })
	runs := make(map[string]string, len(stages))
	for _, s := range stages {
		if s == nil {
			continue
		}
		target := id
		if s.Deployment != "" {
			target = s.Deployment
			if !known[target] {
				b.problems = append(b.problems, missingPin(name, s, history, created))
				// Leave the stage where it is, so the proposed state stays
				// consistent; the plan is not applyable anyway.
				target = oldRuns[s.Name]
				if target == "" {
					continue
				}
			}
		}
		runs[s.Name] = target
	}

	// History: the newest HistoryLimit deployments, plus the ones a stage
	// runs and the one the desired configuration is (so that planning
	// again finds it and stays idempotent).
	keep := map[string]bool{id: true}
	for _, t := range runs {
		keep[t] = true
	}
	limit := b.opts.historyLimit()
	b.kept = make([]*state.Deployment, 0, min(len(history), limit+len(keep)))
	for i, dep := range history {
		if i >= len(history)-limit || keep[dep.ID] {
			b.kept = append(b.kept, dep)
			continue
		}
		c := b.diff(TypeDeployment, name, dep.ID, model.DeploymentAddress(name, dep.ID), deploymentEntry(dep), nil)
		c.Reason = fmt.Sprintf("pruned from the deployment history, which keeps the %d newest deployments and those a stage runs", limit)
	}

	// Stages that start running a deployment: new stages and stages that
	// move.
	starts := map[string][]string{}
	for _, s := range stages {
		if s == nil {
			continue
		}
		target, ok := runs[s.Name]
		if prev, had := oldRuns[s.Name]; ok && (!had || prev != target) {
			starts[target] = append(starts[target], s.Name)
		}
	}
	if created != nil {
		c := b.diff(TypeDeployment, name, id, model.DeploymentAddress(name, id), nil, deploymentEntry(created))
		c.Reason = triggerReason(name, triggers)
		b.deployments = append(b.deployments, &DeploymentChange{
			API: name, ID: id, Action: DeploymentCreate,
			TriggeredBy: triggeredBy, Stages: nonNil(starts[id]),
		})
	}
	var reused []string
	for target := range starts {
		if created == nil || target != id {
			reused = append(reused, target)
		}
	}
	slices.Sort(reused)
	for _, target := range reused {
		dc := &DeploymentChange{API: name, ID: target, Action: DeploymentReuse, Stages: starts[target]}
		// An existing unpinned stage moves because the configuration went
		// back to this deployment (a revert); a pinned or new stage moves
		// because of the stage itself.
		var own []string
		reverted := false
		for _, s := range starts[target] {
			_, had := oldRuns[s]
			if had && pinOf(d, s) == "" {
				reverted = true
				continue
			}
			own = append(own, model.StageAddress(name, s))
		}
		if reverted {
			dc.TriggeredBy = append(dc.TriggeredBy, triggeredBy...)
		}
		dc.TriggeredBy = nonNil(append(dc.TriggeredBy, own...))
		b.deployments = append(b.deployments, dc)
	}
	slices.SortStableFunc(b.deployments, func(x, y *DeploymentChange) int {
		if x.API != y.API {
			return strings.Compare(x.API, y.API)
		}
		return strings.Compare(x.ID, y.ID)
	})
	return runs
}

// pinOf returns the deployment pin of stage name of api, or "".
func pinOf(api *model.API, name string) string {
	for _, s := range api.Stages {
		if s != nil && s.Name == name {
			return s.Deployment
		}
	}
	return ""
}

// nonNil returns s, or an empty slice when s is nil, so that JSON shows [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// missingPin returns the problem of stage s of api pinned to a deployment
// that is neither in the API's history nor the one this plan creates.
func missingPin(api string, s *model.Stage, history []*state.Deployment, created *state.Deployment) *Problem {
	var ids []string
	for _, dep := range history {
		if dep != created {
			ids = append(ids, dep.ID)
		}
	}
	var detail strings.Builder
	fmt.Fprintf(&detail, "Stage %q of api %q is pinned to deployment %q, which api %q does not have.", s.Name, api, s.Deployment, api)
	if len(ids) == 0 {
		fmt.Fprintf(&detail, " The API has no deployments yet.")
	} else {
		fmt.Fprintf(&detail, " Its deployments, oldest first: %s.", strings.Join(ids, ", "))
	}
	if created != nil {
		fmt.Fprintf(&detail, " This plan would create %s.", created.ID)
	}
	fmt.Fprintf(&detail, " Run `wsgwctl deployments %s` to see them, or remove the deployment attribute to run the newest one.", api)
	pr := &Problem{Severity: SeverityError, Summary: "Deployment not found", Detail: detail.String()}
	if s.DeploymentRange.Filename != "" {
		r := s.DeploymentRange
		pr.Range = &r
	}
	return pr
}

// deploymentEntry returns a deployment's attributes: its id, creation time
// (when known) and what triggered it.
func deploymentEntry(dep *state.Deployment) *entry {
	attrs := map[string]any{"id": dep.ID}
	if !dep.CreatedAt.IsZero() {
		attrs["created_at"] = dep.CreatedAt.UTC().Format(time.RFC3339)
	}
	if len(dep.TriggeredBy) > 0 {
		tb := make([]any, len(dep.TriggeredBy))
		for i, a := range dep.TriggeredBy {
			tb[i] = a
		}
		attrs["triggered_by"] = tb
	}
	return &entry{name: dep.ID, attrs: attrs}
}

// baseDeployment returns the deployment a new snapshot is compared with to
// find what triggered it: the one the API's unpinned stages run (the first
// such stage by name), or else the API's most recently created deployment,
// or nil when the API has none.
func baseDeployment(o *state.API) *state.Deployment {
	if o == nil {
		return nil
	}
	if o.Config != nil {
		stages := slices.Clone(o.Config.Stages)
		slices.SortFunc(stages, func(a, b *model.Stage) int { return strings.Compare(a.Name, b.Name) })
		for _, s := range stages {
			if s != nil && s.Deployment == "" {
				if dep := o.Deployment(o.StageDeployments[s.Name]); dep != nil {
					return dep
				}
			}
		}
	}
	return o.Newest()
}

// trigger is one object whose change triggers a deployment.
type trigger struct {
	kind string // TypeAPI, TypeRoute, TypeIntegration, TypeAuthorizer or TypeModel
	name string // the route key or object name; "" for the API
}

// address returns the trigger's address in api.
func (t trigger) address(api string) string {
	if t.kind == TypeAPI {
		return model.APIAddress(api)
	}
	return model.ChildAddress(api, t.kind, t.name)
}

// short returns the short form used in reasons, e.g. `route "sendmessage"`
// or, for the API's own settings, `api "chat"`.
func (t trigger) short(api string) string {
	if t.kind == TypeAPI {
		return TypeAPI + " " + strconv.Quote(api)
	}
	return t.kind + " " + strconv.Quote(t.name)
}

// triggerReason returns a deployment's Reason, e.g.
// `triggered by: route "sendmessage", integration "backend"`.
func triggerReason(api string, ts []trigger) string {
	if len(ts) == 0 {
		return ""
	}
	parts := make([]string, 0, min(len(ts), maxReasonRefs)+1)
	for i, t := range ts {
		if i == maxReasonRefs {
			parts = append(parts, fmt.Sprintf("and %d more", len(ts)-maxReasonRefs))
			break
		}
		parts = append(parts, t.short(api))
	}
	return "triggered by: " + strings.Join(parts, ", ")
}

// diffSnapshots returns what differs between the snapshot old (nil: none)
// and cur: the API when a selection expression differs, then the routes,
// integrations, authorizers and models that were added, removed or changed,
// each kind sorted by name.
func diffSnapshots(old, cur *model.DeploymentSnapshot) []trigger {
	var empty model.DeploymentSnapshot
	if old == nil {
		old = &empty
	}
	var out []trigger
	if old.RouteSelectionExpression != cur.RouteSelectionExpression || old.APIKeySelectionExpression != cur.APIKeySelectionExpression {
		out = append(out, trigger{kind: TypeAPI})
	}
	out = appendDiff(out, TypeRoute, objectsOf(old.Routes, func(r *model.Route) string { return r.Key }), objectsOf(cur.Routes, func(r *model.Route) string { return r.Key }))
	out = appendDiff(out, TypeIntegration, objectsOf(old.Integrations, func(i *model.Integration) string { return i.Name }), objectsOf(cur.Integrations, func(i *model.Integration) string { return i.Name }))
	out = appendDiff(out, TypeAuthorizer, objectsOf(old.Authorizers, func(a *model.Authorizer) string { return a.Name }), objectsOf(cur.Authorizers, func(a *model.Authorizer) string { return a.Name }))
	out = appendDiff(out, TypeModel, objectsOf(old.Models, func(m *model.Model) string { return m.Name }), objectsOf(cur.Models, func(m *model.Model) string { return m.Name }))
	return out
}

// objectsOf indexes snapshot objects by name.
func objectsOf[T any](objs []*T, name func(*T) string) map[string]*T {
	m := make(map[string]*T, len(objs))
	for _, o := range objs {
		if o != nil {
			m[name(o)] = o
		}
	}
	return m
}

// appendDiff appends to out a trigger of kind for every name added, removed
// or changed between old and cur (compared in canonical form, descriptions
// excluded), sorted by name.
func appendDiff[T any](out []trigger, kind string, old, cur map[string]*T) []trigger {
	var names []string
	for n, c := range cur {
		o, ok := old[n]
		if !ok || !bytes.Equal(canonicalJSON(o, "description"), canonicalJSON(c, "description")) {
			names = append(names, n)
		}
	}
	for n := range old {
		if _, ok := cur[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, trigger{kind: kind, name: n})
	}
	return out
}
