// Package state defines the versioned saved-state document (SPEC FS-2) and its
// codec. plan reads it, apply writes it, runtime serves it.
//
// It imports only the model package and the standard library, and never
// prints.
package state
