// Package apply writes the state a plan proposes: the stale-plan check
// (CLI-4), filling in what only apply can know (lineage, serial, API ids,
// deployment times), the PL-7 safety net, and the state store with its lock
// (FS-3, FS-4, D-1).
//
// Run does not lock: the CLI takes the lock (Store.Lock), reads, plans, asks
// for approval, calls Run and unlocks, so that the state it showed is the
// state Run replaces. FileStore is the local store: a JSON file written
// atomically with a backup, locked with flock on PATH.lock. The Store
// interface leaves room for a shared cluster backend.
//
// It must not import config or runtime, and never prints: every outcome is a
// returned value or error, rendered by the CLI.
package apply
