package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/apply"
)

func init() {
	registerCommand(newForceUnlockCmd)
}

// newForceUnlockCmd returns `wsgwctl force-unlock` (CLI-12, FS-4, D-1).
func newForceUnlockCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "force-unlock ID",
		Short: "Remove the state lock whose ID is given",
		Long: "Removes the state lock left by a command that is stuck, given the lock's ID as\n" +
			"printed when a command could not take the lock. Asks for confirmation unless\n" +
			"--force is given.\n\n" +
			"Exit status: 0 unlocked, 1 no lock is held, the ID differs, or cancelled.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%s takes exactly one lock ID", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id := args[0]
			store := apply.NewFileStore(a.statePath())
			info, err := store.LockInfo(ctx)
			if err != nil {
				return fmt.Errorf("read the state lock: %w", err)
			}
			if info == nil {
				return fmt.Errorf("force-unlock %s: no lock is held on %s", id, a.statePath())
			}
			if info.ID != id {
				return fmt.Errorf("force-unlock %s: the lock held on %s has ID %s, not %s", id, a.statePath(), info.ID, id)
			}
			if !force {
				if !a.stdinIsTerminal() {
					return fmt.Errorf("cannot ask for confirmation: standard input is not a terminal; pass --force to remove the lock without asking")
				}
				ok, err := a.confirm("Do you really want to force-unlock?",
					"wsgwctl will remove the lock on the state. This lets another command write the",
					"state while the holder may still be running. Only 'yes' will be accepted to confirm.")
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(a.stderr, "Force-unlock cancelled.")
					return exitCode(1)
				}
			}
			switch err := store.ForceUnlock(ctx, id); {
			case errors.Is(err, apply.ErrNoLock):
				return fmt.Errorf("force-unlock %s: no lock is held on %s", id, a.statePath())
			case errors.Is(err, apply.ErrLockIDMismatch):
				return fmt.Errorf("force-unlock %s: the lock held on %s has a different ID", id, a.statePath())
			case err != nil:
				return fmt.Errorf("force-unlock %s: %w", id, err)
			}
			fmt.Fprintln(a.stdout, "The state has been successfully unlocked.")
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove the lock without asking for confirmation")
	return cmd
}
