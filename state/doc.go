// Package state defines the versioned saved-state document (SPEC FS-2) and its
// codec. plan reads it, apply writes it, runtime serves it.
//
// It owns the document's types, its JSON encoding (indented, deterministic,
// one trailing newline), decoding with the checks of FS-5 (a document that
// cannot be parsed or is structurally inconsistent is a *CorruptError, one of
// a newer format a *VersionError, both naming the file and what to do),
// structural validation, deep copies, and the random identifiers fixed when
// objects are first written: lineages (UUID v4) and API ids (D-18).
//
// It does not lock, write files or decide what changes: locking and atomic
// writes belong to apply, diffs to plan. It imports only the model package and
// the standard library, and never prints.
package state
