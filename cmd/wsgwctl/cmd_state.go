package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/plan"
	"github.com/wsgwctl/wsgwctl/state"
)

func init() {
	registerCommand(newStateCmd)
}

// newStateCmd returns `wsgwctl state` with `list` and `show` (CLI-6, D-15).
func newStateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect the applied state",
		Args:  noArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the addresses of every applied object, deployments included",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			objs, err := a.stateObjects()
			if err != nil {
				return err
			}
			for _, o := range objs {
				fmt.Fprintln(a.stdout, o.Address)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show ADDRESS",
		Short: "Print the attributes of one applied object; secrets are masked",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%s takes exactly one address, e.g. 'api.chat.route[\"$default\"]'", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			objs, err := a.stateObjects()
			if err != nil {
				return err
			}
			for _, o := range objs {
				if o.Address == args[0] {
					return writeStateObject(a.stdout, o)
				}
			}
			return fmt.Errorf("no object with address %s in the state %s; run `wsgwctl state list` to see the addresses", args[0], a.statePath())
		},
	})
	return cmd
}

// stateObject is one applied object: its address and attributes, the
// sensitive ones masked (D-20).
type stateObject struct {
	Address   string          `json:"address"`
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	API       string          `json:"api,omitempty"`
	Values    map[string]any  `json:"values"`
	Sensitive map[string]bool `json:"sensitive_values,omitempty"`
}

// stateObjects reads the state (without locking) and returns its objects
// sorted by address; none when there is no state.
func (a *app) stateObjects() ([]*stateObject, error) {
	st, err := a.readStateFile()
	if err != nil {
		return nil, err
	}
	return objectsOf(st), nil
}

// objectsOf returns the objects of st sorted by address. It lets plan
// describe them: planning an empty configuration against st destroys every
// object, and the "before" side of each change is the object's attributes
// as applied, with always-secret values masked.
func objectsOf(st *state.State) []*stateObject {
	if st == nil {
		return nil
	}
	p, _ := plan.Make(&model.Config{}, st, plan.Options{})
	var objs []*stateObject
	for _, c := range p.Changes {
		objs = append(objs, &stateObject{
			Address: c.Address, Type: c.Type, Name: c.Name, API: c.API,
			Values: c.Before, Sensitive: c.BeforeSensitive,
		})
	}
	slices.SortFunc(objs, func(x, y *stateObject) int { return strings.Compare(x.Address, y.Address) })
	return objs
}

// writeStateObject prints o as `# ADDRESS:` followed by one `name = value`
// line per attribute, sorted by name; sensitive values read
// `(sensitive value)`.
func writeStateObject(w io.Writer, o *stateObject) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s:\n", o.Address)
	keys := make([]string, 0, len(o.Values))
	for k := range o.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := "(sensitive value)"
		if !o.Sensitive[k] {
			enc, err := json.MarshalIndent(o.Values[k], "  ", "  ")
			if err != nil {
				return fmt.Errorf("render %s.%s: %w", o.Address, k, err)
			}
			v = string(enc)
		}
		fmt.Fprintf(&b, "  %s = %s\n", k, v)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
