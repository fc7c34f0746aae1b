//go:build !unix

package reliability

import "time"

// processCPU returns 0: the suite measures CPU time on Unix systems only.
func processCPU() time.Duration { return 0 }
