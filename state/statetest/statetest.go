// Package statetest helps tests turn a plan's proposed state into an applied
// one without apply's randomness or clock, so that golden output is stable.
package statetest

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/wsgwctl/wsgwctl/state"
)

// Apply does with next (a plan's NewState) what apply.Run does, but
// deterministically: the first lineage is fixed, API ids derive from the
// API's name and new deployments' creation times from the serial. It fails
// the test when the result is not a valid state.
func Apply(t testing.TB, next *state.State) *state.State {
	t.Helper()
	st := next.Clone()
	st.Version = state.Version
	if st.Lineage == "" {
		st.Lineage = "00000000-0000-4000-8000-000000000000"
	}
	st.Serial++
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(st.Serial) * time.Hour)
	for _, api := range st.APIs {
		if api.ID == "" {
			sum := sha256.Sum256([]byte(api.Config.Name))
			api.ID = hex.EncodeToString(sum[:])[:state.APIIDLength]
		}
		for _, d := range api.Deployments {
			if d.CreatedAt.IsZero() {
				d.CreatedAt = at
			}
		}
	}
	if err := st.Validate(); err != nil {
		t.Fatalf("applied state is invalid: %v", err)
	}
	return st
}
