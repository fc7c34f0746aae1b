// Package views renders plans for the command line: the human form with
// Terraform's conventions (PlanHuman, PL-5, D-13), the one-line-per-address
// form (PlanCompact, D-12), the machine-readable document (PlanJSON, D-11),
// and plan problems as HCL diagnostics (ProblemDiagnostics).
//
// Its functions are pure: they write to the io.Writer they are given and
// nothing else, read no environment and decide nothing about terminals. The
// color argument turns ANSI colour on; when it is false no escape sequence
// is written, and JSON never has any. Sensitive values never reach a
// rendering: plan masks them before (ResourceChange.Before and After hold
// nil for them), and the renderings print `(sensitive value)` or null.
//
// It lives under cmd/wsgwctl, the only tree allowed to import fatih/color,
// and must not import config, apply or runtime.
package views
