package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/config"
)

func init() {
	registerCommand(newPromoteCmd)
}

// newPromoteCmd returns `wsgwctl promote API FROM TO` (CLI-8, D-16).
func newPromoteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "promote API FROM TO",
		Short: "Pin stage TO to the deployment stage FROM runs now",
		Long: `Pin stage TO of API to the deployment that stage FROM runs in the applied
state, by writing TO's deployment attribute in the configuration source.
Comments and layout are kept. Nothing is applied: the next plan and apply
carry the change out.`,
		Args: cobra.ExactArgs(3),
		RunE: func(_ *cobra.Command, args []string) error {
			apiName, from, to := args[0], args[1], args[2]
			st, err := a.readStateFile()
			if err != nil {
				return err
			}
			if st == nil || st.API(apiName) == nil {
				return fmt.Errorf("api %q has not been applied (state %s); run 'wsgwctl apply' first", apiName, a.statePath())
			}
			id := st.API(apiName).StageDeployments[from]
			if id == "" {
				return fmt.Errorf("stage %q of api %q has no applied deployment to promote; apply it first", from, apiName)
			}
			edit, diags := config.PinStage(a.configDir(), apiName, to, id)
			if diags.HasErrors() {
				newDiagnosticsView(a.stderr, nil, a.colorFor(a.stderr)).Write(diags)
				return exitCode(1)
			}
			if err := writeFileAtomic(edit.Filename, edit.New); err != nil {
				return fmt.Errorf("promote: %w", err)
			}
			fmt.Fprintf(a.stdout, "Pinned stage %q of api %q to deployment %s (the deployment stage %q runs).\n\n", to, apiName, id, from)
			shown := edit.Filename
			if rel, err := filepath.Rel(a.startDir, shown); err == nil && !strings.HasPrefix(rel, "..") {
				shown = rel
			}
			writeUnifiedDiff(a.stdout, shown, edit.Old, edit.New, a.colorFor(a.stdout))
			fmt.Fprintln(a.stdout, "\nRun 'wsgwctl plan' to see the change, and 'wsgwctl apply' to carry it out.")
			return nil
		},
	}
}
