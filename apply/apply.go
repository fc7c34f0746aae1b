package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// Prior identifies the state a plan was made against: its lineage and serial,
// both zero when there was no state.
type Prior struct {
	Lineage string
	Serial  uint64
}

// Options tune Run.
type Options struct {
	// Now returns the time recorded as a new deployment's CreatedAt. Nil
	// means time.Now().UTC().
	Now func() time.Time
}

// StaleError reports that the state changed since the plan was made (CLI-4).
type StaleError struct {
	// Prior is the state the plan was made against.
	Prior Prior
	// Current is the state found now (zero when there is none).
	Current Prior
}

// LineageMismatch reports whether the plan was made for a different state
// altogether (a different lineage), rather than an older serial of this one.
func (e *StaleError) LineageMismatch() bool {
	return e.Prior.Lineage != "" && e.Current.Lineage != "" && e.Prior.Lineage != e.Current.Lineage
}

// Error returns a message for users that starts with CLI-4's phrase.
func (e *StaleError) Error() string {
	if e.LineageMismatch() {
		return fmt.Sprintf("Saved plan does not match the given state: the plan was made for state lineage %s, but the state has lineage %s. "+
			"Make a new plan against this state with `wsgwctl plan`, or point --state at the state the plan was made for.",
			e.Prior.Lineage, e.Current.Lineage)
	}
	return fmt.Sprintf("Saved plan is stale: the plan was made against %s, but the state is now %s; it changed since the plan was made. "+
		"Make a new plan with `wsgwctl plan` and apply that.",
		describe(e.Prior), describe(e.Current))
}

func describe(p Prior) string {
	if p.Serial == 0 && p.Lineage == "" {
		return "no state"
	}
	return "state serial " + strconv.FormatUint(p.Serial, 10)
}

// Run writes next, the complete proposed state of a plan made against prior,
// to store. The caller holds store's lock: Run re-reads the current state and
// fails with a *StaleError when its lineage or serial is not prior's.
//
// Run fills in what only apply can: the lineage (a new one for the first
// state), the serial (one more than the current; 1 for the first state), an
// id for every API without one (D-18), and the creation time of every
// deployment that has none (opts.Now; an existing deployment keeps its own).
// As a safety net it refuses a state where a stage runs a deployment missing
// from its API's history (PL-7) or where an existing deployment's content
// changed (PL-2).
//
// When next equals the current state (ignoring version, lineage and serial)
// Run writes nothing and returns the current state, which is nil when no
// state exists (D-2). Otherwise it returns the state written, which shares
// the API configurations and deployment snapshots of next; next itself is not
// modified.
func Run(ctx context.Context, store Store, prior Prior, next *state.State, opts Options) (*state.State, error) {
	if next == nil {
		return nil, errors.New("apply: no proposed state")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	cur, err := store.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	var current Prior
	if cur != nil {
		current = Prior{Lineage: cur.Lineage, Serial: cur.Serial}
	}
	if stale := (&StaleError{Prior: prior, Current: current}); stale.LineageMismatch() || prior.Serial != current.Serial {
		return nil, stale
	}

	out := copyForFill(next)
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	created, err := complete(out, cur, now().UTC())
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("apply: refusing to write an invalid state: %w", err)
	}
	if !created {
		unchanged, err := sameContent(cur, out)
		if err != nil {
			return nil, fmt.Errorf("apply: %w", err)
		}
		if unchanged {
			return cur, nil
		}
	}
	if err := store.Write(ctx, out); err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	return out, nil
}

// copyForFill returns a copy of next that complete may fill in without
// changing next: the state, its APIs and their deployments are copied; the
// configurations and snapshots, which complete only reads, are shared.
func copyForFill(next *state.State) *state.State {
	out := *next
	out.APIs = make([]*state.API, len(next.APIs))
	for i, api := range next.APIs {
		if api == nil {
			continue
		}
		a := *api
		a.Deployments = make([]*state.Deployment, len(api.Deployments))
		for j, d := range api.Deployments {
			if d != nil {
				dc := *d
				a.Deployments[j] = &dc
			}
		}
		out.APIs[i] = &a
	}
	return &out
}

// complete fills out's version, lineage, serial, new API ids and deployment
// times from the current state cur (nil when none), and checks PL-7 and
// deployment immutability. It reports whether it created an API or a
// deployment, which makes out differ from cur.
func complete(out, cur *state.State, now time.Time) (created bool, err error) {
	out.Version = state.Version
	out.Lineage = state.NewLineage()
	out.Serial = 1
	if cur != nil {
		out.Lineage = cur.Lineage
		out.Serial = cur.Serial + 1
	}

	// Deployments already applied, by API id then deployment id.
	applied := map[string]map[string]*state.Deployment{}
	usedIDs := map[string]bool{}
	if cur != nil {
		for _, api := range cur.APIs {
			ds := make(map[string]*state.Deployment, len(api.Deployments))
			for _, d := range api.Deployments {
				ds[d.ID] = d
			}
			applied[api.ID] = ds
			usedIDs[api.ID] = true
		}
	}
	for _, api := range out.APIs {
		if api != nil && api.ID != "" {
			usedIDs[api.ID] = true
		}
	}

	for i, api := range out.APIs {
		if api == nil || api.Config == nil {
			return false, fmt.Errorf("proposed state: apis[%d] has no configuration", i)
		}
		if api.ID == "" {
			id := state.NewAPIID()
			for usedIDs[id] {
				id = state.NewAPIID()
			}
			api.ID = id
			usedIDs[id] = true
			created = true
		}
		old := applied[api.ID]
		history := make(map[string]bool, len(api.Deployments))
		for _, d := range api.Deployments {
			if d == nil {
				continue
			}
			history[d.ID] = true
			if prev := old[d.ID]; prev != nil {
				same, err := jsonEqual(prev.Snapshot, d.Snapshot)
				if err != nil {
					return false, err
				}
				if !same {
					return false, fmt.Errorf("proposed state changes the content of deployment %s of api %q; deployments are immutable (PL-2)", d.ID, api.Config.Name)
				}
				if d.CreatedAt.IsZero() {
					d.CreatedAt = prev.CreatedAt
				}
			}
			if d.CreatedAt.IsZero() {
				d.CreatedAt = now
				created = true
			}
		}
		for stage, id := range api.StageDeployments {
			if !history[id] {
				return false, fmt.Errorf("proposed state: stage %q of api %q runs deployment %s, which the API's deployment history does not contain; "+
					"refusing to drop a deployment a stage uses (PL-7)", stage, api.Config.Name, id)
			}
		}
	}
	return created, nil
}

// sameContent reports whether next equals cur apart from version, lineage and
// serial. A nil cur equals a state with no objects. Empty and absent
// collections are equal, as they are once decoded.
func sameContent(cur, next *state.State) (bool, error) {
	base := &state.State{}
	if cur != nil {
		base = cur
	}
	cmpNext := *next
	cmpNext.Version, cmpNext.Lineage, cmpNext.Serial = base.Version, base.Lineage, base.Serial
	return jsonEqual(base, &cmpNext)
}

// jsonEqual reports whether a and b have the same canonical JSON encoding,
// in which empty values are dropped (model.CanonicalJSON).
func jsonEqual(a, b any) (bool, error) {
	ca, err := model.CanonicalJSON(a, "")
	if err != nil {
		return false, fmt.Errorf("compare states: %w", err)
	}
	cb, err := model.CanonicalJSON(b, "")
	if err != nil {
		return false, fmt.Errorf("compare states: %w", err)
	}
	return bytes.Equal(ca, cb), nil
}
