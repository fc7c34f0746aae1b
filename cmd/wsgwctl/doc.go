// Command wsgwctl is the command line of the gateway: cobra commands, flag
// parsing, exit codes and every view (human text, JSON, GitHub workflow
// commands, diffs, colour and prompts).
//
// It is the only package that prints and the only importer of fatih/color.
// Everything below it returns values, hcl.Diagnostics or errors; this package
// decides how they look and which exit status they mean. It holds no state
// between runs: run builds a fresh command tree around an app value that
// carries the streams, the environment and the global flags, so tests run the
// whole command line in-process (testscript transcripts in
// testdata/script/*.txtar, refreshed with `go test -update`).
//
// Each command is one file that registers its constructor with
// registerCommand in an init function; view code (views_*.go) is kept apart
// from command wiring (cmd_*.go). Commands must not call os.Exit, read
// os.Args or the process environment, or change the working directory:
// paths given on the command line are resolved against the starting
// directory with app.resolvePath (D-4), the configuration directory is
// app.configDir.
package main
