package loadgen

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine of a run outlives
// it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
