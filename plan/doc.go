// Package plan computes what apply would do: Make is a pure function (no I/O,
// no clock, no randomness, deterministic ordering) from the desired model and
// the prior state to a Plan, and Encode/Decode save and load plans.
//
// It owns the per-object diff (which routes, integrations, ... are created,
// updated or deleted), deployment hashing (Snapshot, DeploymentID), the
// decision of which deployment each stage runs and what triggered it, the
// pruning of deployment history, sensitive-value masking of the values a
// plan shows, and the complete proposed state (Plan.NewState) that apply
// writes. It must not import config, apply or runtime, must not print, and
// leaves the renderings to the command line.
//
// # Deployments
//
// A deployment's id is "d-" and 10 hex digits of the SHA-256 of the canonical
// JSON of Snapshot(api) (see DeploymentID). For each API:
//
//   - A deployment is created exactly when the desired snapshot's id is not
//     in the API's history (PL-3). Otherwise the existing one is reused: a
//     revert moves unpinned stages back to it without minting an id.
//   - Unpinned stages run the desired snapshot's deployment; a stage with a
//     `deployment` pin runs its pin, which must be in the history or be the
//     deployment this plan creates, else Make reports a "Deployment not
//     found" problem at the pin.
//   - TriggeredBy of the desired deployment lists what differs between the
//     desired snapshot and a base deployment: the API's address when a
//     selection expression differs, then the routes, integrations,
//     authorizers and models added, removed or changed (in that order, each
//     by name). The base is the deployment the API's unpinned stages run
//     (the first such stage by name), else its most recently created
//     deployment; on an API's first deployment there is no base and
//     everything in the snapshot is listed, the API first. A reuse
//     (DeploymentChange with action "reuse") lists those triggers when an
//     existing unpinned stage returns to the deployment (a revert), plus the
//     address of every pinned or new stage that starts running it.
//   - The history keeps the 10 newest deployments (Options.HistoryLimit) by
//     creation order, the one created by this plan being the newest, plus
//     any older one a stage runs after the plan and the desired snapshot's
//     own deployment. The others are deleted and shown as such (D-13).
//
// # Sensitive values
//
// api_key.value and credentials.secret_access_key are always sensitive, as
// is every attribute the desired object's Meta.Sensitive lists. Meta is not
// part of an object's value, so NewState records the marks by address in
// state.State.Sensitive, and Make treats an attribute as sensitive on both
// sides of a change when either the configuration or the prior state marks
// it; a destroyed object's secrets therefore stay masked. A change of marks
// alone is not a change: it is recorded with the next apply that writes.
// Sensitive values never leave Make: ResourceChange.Before and
// After hold nil for them, BeforeSensitive and AfterSensitive mark them, and
// SensitiveChanged says which of them change. Plan.Desired and NewState
// hold the secrets in clear, as saved plans and state do (D-20).
package plan
