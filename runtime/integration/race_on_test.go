//go:build race

package integration

// raceEnabled is set when the race detector runs; it makes sync.Pool drop
// items at random, so allocation counts are not meaningful.
const raceEnabled = true
