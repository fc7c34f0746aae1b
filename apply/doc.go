// Package apply executes a plan against saved state: locking, stale-plan
// checks, atomic state writes and deployment history.
//
// It must not import config or runtime, and never prints.
package apply
