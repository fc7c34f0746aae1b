//go:build !race

package reliability

// raceEnabled is set when the race detector runs, which slows everything
// down several times.
const raceEnabled = false
