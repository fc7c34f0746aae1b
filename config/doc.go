// Package config loads a wsgwctl configuration directory (every *.wsgw.hcl file
// directly inside it, FS-1) into the plain model of package config/model, and
// formats configuration files canonically (fmt).
//
// It owns the configuration language of SPEC §3: one decodeXBlock function per
// block type, variables with the precedence default < WSGW_VAR_* < --var-file <
// --var, locals, the function set (including file() and templatefile()
// resolved against the configuration directory), static references between
// blocks, request-time expressions kept symbolic, and every validation rule of
// §3.4. Problems are returned as hcl.Diagnostics with exact source ranges, all
// of them from one run; this package never prints.
//
// It must not import plan, apply or runtime.
package config
