//go:build !linux

package reliability

import "errors"

// lowerPriority changes nothing outside Linux: the attacker process runs at
// the parent's priority there.
func lowerPriority(int) (int, error) {
	return 0, errors.New("the attacker process's priority is lowered on Linux only")
}
