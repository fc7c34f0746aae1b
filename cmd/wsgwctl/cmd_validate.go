package main

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
)

func init() {
	registerCommand(newValidateCmd)
}

// Validate output formats (CLI-1).
const (
	formatText   = "text"
	formatJSON   = "json"
	formatGitHub = "github"
)

// newValidateCmd returns `wsgwctl validate` (CLI-1, D-6..D-8).
func newValidateCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration without reading state",
		Long: "Loads every *.wsgw.hcl file of the configuration directory and reports every problem\n" +
			"found, with its source location. Reads no state and makes no network call. Variables\n" +
			"without a value are treated as unknown.\n\n" +
			"Exit status: 0 when the configuration is valid (warnings allowed), 1 otherwise.",
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			switch format {
			case formatText, formatJSON, formatGitHub:
			default:
				return usagef("invalid value %q for --format: must be one of text, json, github", format)
			}
			return runValidate(a, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", formatText, "output `FORMAT`: text, json or github")
	return cmd
}

// runValidate loads the configuration with unset variables allowed (D-6) and
// prints the result in the given format.
func runValidate(a *app, format string) error {
	loaded, diags := a.loadConfig(true)
	var files map[string]*hcl.File
	if loaded != nil {
		files = loaded.Files
	}

	switch format {
	case formatJSON:
		if err := writeValidateJSON(a.stdout, diags, files); err != nil {
			return err
		}
	case formatGitHub:
		writeGitHubAnnotations(a.stdout, diags)
	default:
		newDiagnosticsView(a.stderr, files, a.colorFor(a.stderr)).Write(diags)
		if !diags.HasErrors() {
			writeValidateSuccess(a.stdout, a.colorFor(a.stdout), len(diags) > 0)
		}
	}
	if diags.HasErrors() {
		return exitCode(1)
	}
	return nil
}
