package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/cmd/wsgwctl/internal/views"
)

func init() {
	registerCommand(newShowCmd)
}

// newShowCmd returns `wsgwctl show` (CLI-5, D-20).
func newShowCmd(a *app) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "show [PLANFILE]",
		Short: "Print the applied state, or a saved plan",
		Long: "Without PLANFILE prints every applied object and its attributes, secrets masked.\n" +
			"With PLANFILE prints the saved plan as plan does.",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("unexpected argument %q: show takes at most one plan file", args[1])
			}
			if len(args) == 1 {
				p, err := a.readPlanFile(args[0])
				if err != nil {
					return err
				}
				if jsonOut {
					err = views.PlanJSON(a.stdout, p)
				} else {
					err = views.PlanHuman(a.stdout, p, a.colorFor(a.stdout))
				}
				if err != nil {
					return fmt.Errorf("write plan: %w", err)
				}
				return nil
			}
			st, err := a.readStateFile()
			if err != nil {
				return err
			}
			objs := objectsOf(st)
			if jsonOut {
				doc := struct {
					Lineage string         `json:"lineage"`
					Serial  uint64         `json:"serial"`
					Objects []*stateObject `json:"objects"`
				}{Objects: append([]*stateObject{}, objs...)}
				if st != nil {
					doc.Lineage, doc.Serial = st.Lineage, st.Serial
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(doc); err != nil {
					return fmt.Errorf("write state: %w", err)
				}
				return nil
			}
			if st == nil {
				fmt.Fprintln(a.stdout, "No state: nothing has been applied yet.")
				return nil
			}
			for i, o := range objs {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				if err := writeStateObject(a.stdout, o); err != nil {
					return fmt.Errorf("write state: %w", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print one JSON document")
	return cmd
}
