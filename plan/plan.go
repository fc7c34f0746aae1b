package plan

import (
	"cmp"
	"slices"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// FormatVersion is the version of the saved plan format written by Encode.
const FormatVersion = 1

// DefaultHistoryLimit is how many of an API's newest deployments are kept
// (D-2, PL-7), besides any older one a stage still runs.
const DefaultHistoryLimit = 10

// Options tune Make.
type Options struct {
	// HistoryLimit is how many of the newest deployments of each API the
	// proposed state keeps, besides older ones that a stage runs. Zero or
	// less means DefaultHistoryLimit (10).
	HistoryLimit int
}

func (o Options) historyLimit() int {
	if o.HistoryLimit <= 0 {
		return DefaultHistoryLimit
	}
	return o.HistoryLimit
}

// Problem severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is a user error plan finds that validation of the configuration
// alone cannot, chiefly a stage pinned to a deployment that does not exist.
// The CLI renders it like an HCL diagnostic.
type Problem struct {
	// Severity is SeverityError or SeverityWarning.
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	// Range is the configuration source the problem is about, or nil.
	Range *model.Range `json:"range,omitempty"`
}

// Change actions, as in Terraform's plan JSON. A replacement is
// []string{ActionDelete, ActionCreate}.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Deployment actions of a DeploymentChange.
const (
	// DeploymentCreate: apply mints the deployment.
	DeploymentCreate = "create"
	// DeploymentReuse: the deployment exists already and stages start
	// running it (a revert, a pin, or a new stage).
	DeploymentReuse = "reuse"
)

// Resource types: the kind of object a ResourceChange is about; also the
// block type written in HCL and in addresses (D-15).
const (
	TypeAPI         = "api"
	TypeIntegration = "integration"
	TypeAuthorizer  = "authorizer"
	TypeModel       = "model"
	TypeRoute       = "route"
	TypeDeployment  = "deployment"
	TypeStage       = "stage"
	TypeAPIKey      = "api_key"
	TypeUsagePlan   = "usage_plan"
	TypeCredentials = "credentials"
	TypeDomainName  = "domain_name"
)

// Plan is what apply would do: the changes to show, the deployments to mint
// or reuse, and the complete state to write.
type Plan struct {
	// FormatVersion is FormatVersion for plans made by this binary.
	FormatVersion int
	// PriorLineage and PriorSerial identify the state the plan was made
	// against; both are zero when there was none. Apply refuses the plan
	// when the state has moved on (CLI-4).
	PriorLineage string
	PriorSerial  uint64
	// ConfigHash is ConfigHash(Desired).
	ConfigHash string
	// Desired is the configuration the plan applies, secrets included, so a
	// saved plan embeds everything it will apply (D-14).
	Desired *model.Config
	// Changes are the objects that change, sorted by API (then the
	// top-level objects), kind and name; see ResourceChange.
	Changes []*ResourceChange
	// Deployments are the deployments minted or newly run by a stage,
	// sorted by API and id.
	Deployments []*DeploymentChange
	// Problems are the user errors found; a plan with an error is not
	// applyable.
	Problems []*Problem
	// NewState is the complete proposed state, except what only apply
	// fills in: the ids of new APIs are "", new deployments have a zero
	// CreatedAt, and Version, Lineage and Serial are those of the prior
	// state (zero without one).
	NewState *state.State
}

// ResourceChange is one object that the plan creates, updates, deletes or
// replaces. Objects without a change are not listed.
type ResourceChange struct {
	// Address is the object's address (D-15), e.g. api.chat.route["$connect"].
	Address string `json:"address"`
	// Type is one of the Type constants.
	Type string `json:"type"`
	// Name is the object's label: a name, a route key, a deployment id or a
	// host.
	Name string `json:"name"`
	// API is the name of the API the object is or belongs to ("" for
	// top-level objects).
	API string `json:"api,omitempty"`
	// Actions is ["create"], ["update"], ["delete"] or ["delete","create"].
	Actions []string `json:"actions"`
	// Before and After are the object's attributes, keyed by their names in
	// HCL, as generic JSON values (map[string]any, []any, string,
	// json.Number, bool); nil when the object does not exist on that side.
	// Attributes whose value is empty (null, "", [] or {}) are left out, as
	// are the object's label and its nested objects. Sensitive attributes
	// are present with the value nil: their values never leave Make.
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
	// BeforeSensitive and AfterSensitive mark the attributes whose values
	// are sensitive (PL-9) and masked in Before and After.
	BeforeSensitive map[string]bool `json:"before_sensitive,omitempty"`
	AfterSensitive  map[string]bool `json:"after_sensitive,omitempty"`
	// SensitiveChanged lists, for an update, the sensitive attributes whose
	// value changes, sorted; Before and After cannot show it.
	SensitiveChanged []string `json:"sensitive_changed,omitempty"`
	// ReplacePaths lists the attributes that force a replacement.
	ReplacePaths []string `json:"replace_paths,omitempty"`
	// Reason explains the change for people, e.g. for a deployment
	// `triggered by: route "sendmessage"` and for a stage
	// `deployment "d-…" → "d-…"`; often "".
	Reason string `json:"reason,omitempty"`
}

// Action returns the change's kind in one word: "create", "update",
// "delete" or "replace".
func (c *ResourceChange) Action() string {
	if len(c.Actions) == 2 {
		return "replace"
	}
	if len(c.Actions) == 1 {
		return c.Actions[0]
	}
	return ""
}

// DeploymentChange is a deployment that apply mints, or an existing one that
// stages start running (D-11).
type DeploymentChange struct {
	API string `json:"api"`
	ID  string `json:"id"`
	// Action is DeploymentCreate or DeploymentReuse.
	Action string `json:"action"`
	// TriggeredBy lists the addresses whose change makes the API run this
	// deployment (see the package documentation for the rule).
	TriggeredBy []string `json:"triggered_by"`
	// Stages are the stages that start running the deployment with this
	// plan, sorted.
	Stages []string `json:"stages"`
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool { return len(p.Changes) > 0 }

// Applyable reports whether the plan may be applied: it has no error
// problems. A plan without changes is applyable (applying it does nothing).
func (p *Plan) Applyable() bool {
	for _, pr := range p.Problems {
		if pr.Severity == SeverityError {
			return false
		}
	}
	return true
}

// Counts returns how many objects the plan adds, changes and destroys, as
// the summary line `Plan: X to add, Y to change, Z to destroy.` counts them:
// a replacement counts as one add and one destroy; new deployments count as
// adds and pruned ones as destroys (D-13).
func (p *Plan) Counts() (add, change, destroy int) {
	for _, c := range p.Changes {
		for _, a := range c.Actions {
			switch a {
			case ActionCreate:
				add++
			case ActionUpdate:
				change++
			case ActionDelete:
				destroy++
			}
		}
	}
	return add, change, destroy
}

// Make computes the plan that turns prior (nil when no state exists) into
// desired. It is a pure function: no I/O, clock or randomness, and the same
// inputs always give the same plan. It returns the plan's problems too
// (p.Problems); a plan with an error problem is not applyable.
func Make(desired *model.Config, prior *state.State, opts Options) (*Plan, []*Problem) {
	if desired == nil {
		desired = &model.Config{}
	}
	b := &builder{opts: opts}
	p := &Plan{
		FormatVersion: FormatVersion,
		ConfigHash:    ConfigHash(desired),
		Desired:       desired,
	}
	b.next = &state.State{}
	if prior != nil {
		p.PriorLineage, p.PriorSerial = prior.Lineage, prior.Serial
		b.next.Version, b.next.Lineage, b.next.Serial = prior.Version, prior.Lineage, prior.Serial
		b.priorSensitive = prior.Sensitive
	}

	desiredAPIs := map[string]*model.API{}
	var names []string
	for _, api := range desired.APIs {
		if api != nil {
			desiredAPIs[api.Name] = api
			names = append(names, api.Name)
		}
	}
	priorAPIs := map[string]*state.API{}
	if prior != nil {
		for _, api := range prior.APIs {
			if api != nil && api.Config != nil {
				priorAPIs[api.Config.Name] = api
				if desiredAPIs[api.Config.Name] == nil {
					names = append(names, api.Config.Name)
				}
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, name := range names {
		b.planAPI(name, desiredAPIs[name], priorAPIs[name])
	}

	var before topLevel
	if prior != nil {
		before = topLevel{prior.APIKeys, prior.UsagePlans, prior.Credentials, prior.DomainNames}
	}
	b.planTopLevel(before, topLevel{desired.APIKeys, desired.UsagePlans, desired.Credentials, desired.DomainNames})
	b.next.APIKeys = desired.APIKeys
	b.next.UsagePlans = desired.UsagePlans
	b.next.Credentials = desired.Credentials
	b.next.DomainNames = desired.DomainNames

	slices.SortStableFunc(b.changes, compareChanges)
	p.Changes = b.changes
	p.Deployments = b.deployments
	p.Problems = b.problems
	p.NewState = b.next
	return p, p.Problems
}

// builder accumulates a plan.
type builder struct {
	opts        Options
	changes     []*ResourceChange
	deployments []*DeploymentChange
	problems    []*Problem
	next        *state.State
	// priorSensitive is the prior state's record of sensitive attributes
	// by address (state.State.Sensitive).
	priorSensitive map[string][]string
	// kept is the deployment history planDeployments keeps for the API
	// being planned.
	kept []*state.Deployment
}

// kindOrder orders the changes of one API, then the top-level kinds.
var kindOrder = map[string]int{
	TypeAPI: 0, TypeIntegration: 1, TypeAuthorizer: 2, TypeModel: 3, TypeRoute: 4, TypeDeployment: 5, TypeStage: 6,
	TypeAPIKey: 10, TypeUsagePlan: 11, TypeCredentials: 12, TypeDomainName: 13,
}

// compareChanges sorts the changes of APIs first (by API name), then the
// top-level objects, each by kind and name.
func compareChanges(a, b *ResourceChange) int {
	ta, tb := a.API == "", b.API == ""
	if ta != tb {
		if ta {
			return 1
		}
		return -1
	}
	return cmp.Or(
		cmp.Compare(a.API, b.API),
		cmp.Compare(kindOrder[a.Type], kindOrder[b.Type]),
		cmp.Compare(a.Name, b.Name),
	)
}
