package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/state"
)

func init() {
	registerCommand(newDeploymentsCmd)
}

// newDeploymentsCmd returns `wsgwctl deployments [API]` (CLI-7, D-16).
func newDeploymentsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "deployments [API]",
		Short: "List the deployment history of each applied API",
		Long: `List the deployments that applied state keeps for each API, newest last:
their id, when apply created them, which stages run them, and the objects
whose change triggered them.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			st, err := a.readStateFile()
			if err != nil {
				return err
			}
			if st == nil {
				st = &state.State{}
			}
			apis := st.APIs
			if len(args) == 1 {
				api := st.API(args[0])
				if api == nil {
					return fmt.Errorf("api %q is not in the applied state %s; applied APIs: %s", args[0], a.statePath(), apiNames(st))
				}
				apis = []*state.API{api}
			}
			if len(apis) == 0 {
				fmt.Fprintf(a.stdout, "No applied APIs in %s. Run 'wsgwctl apply' first.\n", a.statePath())
				return nil
			}
			for i, api := range apis {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				writeDeployments(a.stdout, api)
			}
			return nil
		},
	}
}

// writeDeployments prints one API's deployment table (D-16).
func writeDeployments(w io.Writer, api *state.API) {
	fmt.Fprintf(w, "api.%s (id %s)\n", api.Name(), api.ID)
	stagesOf := map[string][]string{}
	for stage, id := range api.StageDeployments {
		stagesOf[id] = append(stagesOf[id], stage)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSTAGES\tTRIGGERED BY")
	for _, d := range api.Deployments {
		stages := stagesOf[d.ID]
		sort.Strings(stages)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.ID, d.CreatedAt.UTC().Format(time.RFC3339),
			dashIfEmpty(strings.Join(stages, ", ")), dashIfEmpty(strings.Join(d.TriggeredBy, ", ")))
	}
	tw.Flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// apiNames lists the applied APIs' names for error messages.
func apiNames(st *state.State) string {
	var names []string
	for _, api := range st.APIs {
		names = append(names, api.Name())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
