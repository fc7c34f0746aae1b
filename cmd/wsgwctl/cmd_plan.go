package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/cmd/wsgwctl/internal/views"
	"github.com/wsgwctl/wsgwctl/plan"
	"github.com/wsgwctl/wsgwctl/state"
)

func init() {
	registerCommand(newPlanCmd)
}

// newPlanCmd returns `wsgwctl plan` (CLI-3, D-11..D-13).
func newPlanCmd(a *app) *cobra.Command {
	var (
		out      string
		detailed bool
		jsonOut  bool
		compact  bool
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change",
		Long: "Loads the configuration, reads the applied state (without locking it) and shows\n" +
			"what apply would create, change and destroy. --out saves the plan so that\n" +
			"`wsgwctl apply FILE` applies exactly it.\n\n" +
			"Exit status: 0 ok, 1 error; with --detailed-exitcode 0 no changes, 1 error,\n" +
			"2 changes present.",
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if jsonOut && compact {
				return usagef("--json and --compact cannot be used together: choose one output format")
			}
			p, err := a.makePlan(a.readStateFile)
			if err != nil {
				return err
			}
			switch {
			case jsonOut:
				err = views.PlanJSON(a.stdout, p)
			case compact:
				err = views.PlanCompact(a.stdout, p, a.colorFor(a.stdout))
			default:
				err = views.PlanHuman(a.stdout, p, a.colorFor(a.stdout))
			}
			if err != nil {
				return fmt.Errorf("write plan: %w", err)
			}
			if out != "" {
				if err := a.savePlan(out, p); err != nil {
					return err
				}
				// Keep stdout a single JSON document with --json.
				w := a.stdout
				if jsonOut {
					w = a.stderr
				}
				fmt.Fprintf(w, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run:\n  wsgwctl apply %s\n", out, out)
			}
			if detailed && p.HasChanges() {
				return exitCode(2)
			}
			return nil
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&out, "out", "", "save the plan to `FILE` for `wsgwctl apply FILE`")
	flags.BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when there are changes, 0 when there are none")
	flags.BoolVar(&jsonOut, "json", false, "print the plan as one JSON document")
	flags.BoolVar(&compact, "compact", false, "print one line per changed address")
	return cmd
}

// readStateFile reads the state file without locking it (D-1). It returns
// nil when there is no state; a corrupt or newer state is an error naming the
// file (FS-5).
func (a *app) readStateFile() (*state.State, error) {
	st, err := state.Read(a.statePath())
	if err != nil {
		return nil, err
	}
	return st, nil
}

// makePlan loads the configuration (unset variables are errors, D-6), reads
// the prior state with read and plans. Configuration diagnostics and plan
// problems are printed to stderr; when any is an error makePlan returns
// exitCode(1). Errors reading state are returned unprinted.
func (a *app) makePlan(read func() (*state.State, error)) (*plan.Plan, error) {
	loaded, diags := a.loadConfig(false)
	dv := newDiagnosticsView(a.stderr, loaded.Files, a.colorFor(a.stderr))
	if diags.HasErrors() {
		dv.Write(diags)
		return nil, exitCode(1)
	}
	prior, err := read()
	if err != nil {
		dv.Write(diags)
		return nil, err
	}
	p, problems := plan.Make(loaded.Config, prior, plan.Options{})
	all := append(hcl.Diagnostics{}, diags...)
	all = append(all, views.ProblemDiagnostics(problems)...)
	dv.Write(all)
	if all.HasErrors() || !p.Applyable() {
		return nil, exitCode(1)
	}
	return p, nil
}

// savePlan writes p to the plan file at path (as given on the command line)
// with mode 0600, since a saved plan holds secrets in clear (D-20).
func (a *app) savePlan(path string, p *plan.Plan) error {
	var buf bytes.Buffer
	if err := plan.Encode(&buf, p); err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	abs := a.resolvePath(path)
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("save plan to %s: %w", path, err)
	}
	// An existing file keeps its mode on open; a plan must not be readable
	// by others.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("save plan to %s: %w", path, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("save plan to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save plan to %s: %w", path, err)
	}
	return nil
}

// readPlanFile decodes the saved plan at path (as given on the command line).
func (a *app) readPlanFile(path string) (*plan.Plan, error) {
	f, err := os.Open(a.resolvePath(path))
	if err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	defer f.Close()
	p, err := plan.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read plan file %s: %w", path, err)
	}
	return p, nil
}
