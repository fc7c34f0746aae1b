package apply

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

var fixedNow = time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

// proposed turns a complete state into what plan proposes: no lineage or
// serial, and the given APIs and deployments not applied yet (no id, no
// creation time).
func proposed(st *state.State, newAPIs []int, newDeployments ...string) *state.State {
	p := st.Clone()
	p.Lineage, p.Serial = "", 0
	for _, i := range newAPIs {
		p.APIs[i].ID = ""
	}
	for _, api := range p.APIs {
		for _, d := range api.Deployments {
			for _, id := range newDeployments {
				if d.ID == id {
					d.CreatedAt = time.Time{}
				}
			}
		}
	}
	return p
}

func TestRunFirstAndNext(t *testing.T) {
	ctx := context.Background()
	path := statePath(t)
	store := NewFileStore(path)
	opts := Options{Now: fixedClock}

	next := proposed(fixture(1, 2, 2, 1), []int{0, 1}, deploymentID(1))
	before := next.Clone()
	got, err := Run(ctx, store, Prior{}, next, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, next); diff != "" {
		t.Errorf("Run modified its input (-before +after):\n%s", diff)
	}
	if got.Version != state.Version || got.Serial != 1 {
		t.Errorf("first state has version %d, serial %d", got.Version, got.Serial)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got.Lineage) {
		t.Errorf("lineage %q is not a UUID", got.Lineage)
	}
	idRE := regexp.MustCompile(`^[a-z0-9]{10}$`)
	if !idRE.MatchString(got.APIs[0].ID) || !idRE.MatchString(got.APIs[1].ID) || got.APIs[0].ID == got.APIs[1].ID {
		t.Errorf("API ids %q, %q", got.APIs[0].ID, got.APIs[1].ID)
	}
	if c := got.APIs[0].Deployments[0].CreatedAt; !c.Equal(fixedNow) {
		t.Errorf("new deployment created at %v, want %v", c, fixedNow)
	}
	if diff := cmp.Diff(got, readState(t, path)); diff != "" {
		t.Errorf("written state differs from the returned one (-returned +file):\n%s", diff)
	}

	// The next plan keeps the API ids and adds a deployment.
	second := fixture(0, 2, 2, 1, 2)
	for i, api := range second.APIs {
		api.ID = got.APIs[i].ID
		api.Deployments[0].CreatedAt = time.Time{} // plan may leave an applied deployment's time out
	}
	next2 := proposed(second, nil, deploymentID(2))
	later := fixedNow.Add(time.Hour)
	got2, err := Run(ctx, store, Prior{Lineage: got.Lineage, Serial: 1}, next2, Options{Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if got2.Lineage != got.Lineage || got2.Serial != 2 {
		t.Errorf("second state has lineage %s serial %d; want %s and 2", got2.Lineage, got2.Serial, got.Lineage)
	}
	api := got2.APIs[0]
	if api.ID != got.APIs[0].ID {
		t.Errorf("API id changed from %s to %s", got.APIs[0].ID, api.ID)
	}
	if c := api.Deployment(deploymentID(1)).CreatedAt; !c.Equal(fixedNow) {
		t.Errorf("existing deployment's time became %v, want %v", c, fixedNow)
	}
	if c := api.Deployment(deploymentID(2)).CreatedAt; !c.Equal(later) {
		t.Errorf("new deployment's time %v, want %v", c, later)
	}
	if diff := cmp.Diff(got, readState(t, store.BackupPath())); diff != "" {
		t.Errorf("backup is not the previous state (-want +got):\n%s", diff)
	}
}

func TestRunNoChanges(t *testing.T) {
	ctx := context.Background()

	t.Run("no state and nothing to apply", func(t *testing.T) {
		path := statePath(t)
		got, err := Run(ctx, NewFileStore(path), Prior{}, &state.State{APIs: []*state.API{}}, Options{})
		if got != nil || err != nil {
			t.Fatalf("Run = %v, %v; want nil, nil", got, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a state file was written (stat: %v)", err)
		}
	})
	t.Run("state equals proposal", func(t *testing.T) {
		path := statePath(t)
		store := NewFileStore(path)
		cur := fixture(4, 1, 2, 1, 2)
		if err := store.Write(ctx, cur); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		next := proposed(cur, nil)
		next.APIs[0].Config.Stages[0].RouteSettings = map[string]model.RouteSettings{} // empty, not nil
		got, err := Run(ctx, store, Prior{Lineage: fixtureLineage, Serial: 4}, next, Options{Now: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(cur, got); diff != "" {
			t.Errorf("Run did not return the current state (-want +got):\n%s", diff)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(before) != string(after) {
			t.Error("the state file was rewritten")
		}
		if _, err := os.Stat(store.BackupPath()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a backup was written (stat: %v)", err)
		}
	})
}

func TestRunRefuses(t *testing.T) {
	ctx := context.Background()
	cur := fixture(3, 1, 2, 1, 2)
	otherLineage := "7d1e2c3b-0000-4000-8000-000000000000"
	changed := func(f func(*state.State)) *state.State {
		p := proposed(fixture(0, 1, 2, 1, 2, 3), nil, deploymentID(3))
		f(p)
		return p
	}
	plain := changed(func(*state.State) {})
	tests := []struct {
		name    string
		noState bool
		prior   Prior
		next    *state.State
		stale   string // wanted StaleError message start, or ""
		errText string // else a wanted substring
	}{
		{name: "serial differs", prior: Prior{Lineage: fixtureLineage, Serial: 2}, next: plain,
			stale: "Saved plan is stale: the plan was made against state serial 2, but the state is now state serial 3"},
		{name: "lineage differs", prior: Prior{Lineage: otherLineage, Serial: 3}, next: plain,
			stale: "Saved plan does not match the given state: the plan was made for state lineage " + otherLineage},
		{name: "planned without state, state exists now", prior: Prior{}, next: plain,
			stale: "Saved plan is stale: the plan was made against no state, but the state is now state serial 3"},
		{name: "planned with state, state gone", noState: true, prior: Prior{Lineage: fixtureLineage, Serial: 3}, next: plain,
			stale: "Saved plan is stale: the plan was made against state serial 3, but the state is now no state"},
		{name: "stage runs a deployment missing from history", prior: Prior{Lineage: fixtureLineage, Serial: 3},
			next: changed(func(p *state.State) {
				p.APIs[0].StageDeployments["prod"] = deploymentID(3)
				p.APIs[0].Deployments = p.APIs[0].Deployments[1:2] // only d-2 kept
			}),
			errText: `stage "prod" of api "api00" runs deployment ` + deploymentID(3)},
		{name: "existing deployment changed", prior: Prior{Lineage: fixtureLineage, Serial: 3},
			next: changed(func(p *state.State) {
				p.APIs[0].Deployments[0].Snapshot.RouteSelectionExpression = "$request.body.other"
			}),
			errText: "changes the content of deployment " + deploymentID(1)},
		{name: "no proposal", prior: Prior{Lineage: fixtureLineage, Serial: 3}, errText: "no proposed state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := statePath(t)
			store := NewFileStore(path)
			if !tt.noState {
				if err := store.Write(ctx, cur); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Run(ctx, store, tt.prior, tt.next, Options{Now: fixedClock})
			if err == nil {
				t.Fatalf("Run succeeded with serial %d", got.Serial)
			}
			if tt.stale != "" {
				var se *StaleError
				if !errors.As(err, &se) {
					t.Fatalf("error %v (%T), want *StaleError", err, err)
				}
				if !strings.HasPrefix(err.Error(), tt.stale) {
					t.Errorf("message %q does not start with %q", err, tt.stale)
				}
			} else if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q lacks %q", err, tt.errText)
			}
			want := cur
			if tt.noState {
				want = nil
			}
			if diff := cmp.Diff(want, readState(t, path)); diff != "" {
				t.Errorf("state changed (-want +got):\n%s", diff)
			}
		})
	}
}
