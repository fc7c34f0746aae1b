package state

import (
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// Version is the newest state format version this binary reads and writes.
const Version = 1

// State is the saved state document (FS-2): what apply last recorded. It is
// the only input of serve.
type State struct {
	// Version is the format version (D-2: an integer, 1 for the first format).
	Version int `json:"version"`
	// Lineage is a UUID fixed when the state is first written.
	Lineage string `json:"lineage"`
	// Serial is incremented by every write that changes the state; the first
	// write has serial 1.
	Serial uint64 `json:"serial"`

	APIs        []*API               `json:"apis"`
	APIKeys     []*model.APIKey      `json:"api_keys,omitempty"`
	UsagePlans  []*model.UsagePlan   `json:"usage_plans,omitempty"`
	Credentials []*model.Credentials `json:"credentials,omitempty"`
	DomainNames []*model.DomainName  `json:"domain_names,omitempty"`

	// Sensitive maps an object's address to the attributes whose value came
	// from a variable declared sensitive when it was applied (the objects'
	// Meta.Sensitive, which is not part of their value). It lets plan, show
	// and state show mask those values even after the configuration that
	// marked them is gone, e.g. for an object being destroyed (D-20).
	Sensitive map[string][]string `json:"sensitive,omitempty"`
}

// API is an applied API: its settings as last applied, its stages, and its
// deployment history.
type API struct {
	// ID is 10 random lowercase letters and digits, fixed at creation (D-18).
	ID string `json:"id"`
	// Config is the API as last applied (routes, integrations, ... and stage
	// settings); Config.Stages holds the stages' settings.
	Config *model.API `json:"config"`
	// StageDeployments maps a stage name to the id of the deployment it runs.
	StageDeployments map[string]string `json:"stage_deployments"`
	// Deployments is the history, oldest first: the newest ten plus any older
	// one a stage still uses (D-2, PL-7).
	Deployments []*Deployment `json:"deployments"`
}

// Deployment is an immutable snapshot of an API's routing content (PL-2).
type Deployment struct {
	// ID is "d-" followed by 10 hex digits of the snapshot's hash.
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// TriggeredBy lists the addresses whose change caused this deployment.
	TriggeredBy []string                 `json:"triggered_by,omitempty"`
	Snapshot    model.DeploymentSnapshot `json:"snapshot"`
}
