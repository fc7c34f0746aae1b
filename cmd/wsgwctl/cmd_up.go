package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/apply"
	"github.com/wsgwctl/wsgwctl/cmd/wsgwctl/internal/views"
	"github.com/wsgwctl/wsgwctl/plan"
	"github.com/wsgwctl/wsgwctl/state"
)

func init() {
	registerCommand(newUpCmd)
}

// newUpCmd returns `wsgwctl up` (CLI-10).
func newUpCmd(a *app) *cobra.Command {
	var f serveFlags
	var configInterval time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Apply the configuration and serve it, re-applying whenever a file changes",
		Long: "The developer loop: applies the configuration (approved automatically), serves every\n" +
			"stage like `wsgwctl serve`, and plans and applies again whenever a file in the\n" +
			"configuration directory changes, printing each plan's changes. An edit that does not\n" +
			"validate prints its diagnostics; the last good state keeps serving.\n\n" +
			"Exit status: as serve.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if configInterval <= 0 {
				return usagef("invalid value %s for --config-watch-interval: must be a positive duration", configInterval)
			}
			if err := a.prepare(); err != nil {
				return err
			}
			ctx := cmd.Context()
			u := &upLoop{a: a}
			if err := u.applyOnce(ctx); err != nil && !isReported(err) {
				return err
			}
			g, err := a.startGateway(ctx, &f)
			if err != nil {
				return err
			}
			return u.serve(ctx, g, configInterval)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().DurationVar(&configInterval, "config-watch-interval", 300*time.Millisecond, "look for changed configuration files every `DURATION`")
	_ = cmd.Flags().MarkHidden("config-watch-interval")
	return cmd
}

// isReported reports whether err was printed already (diagnostics).
func isReported(err error) bool {
	var code exitCode
	return errors.As(err, &code)
}

// upLoop re-applies the configuration when its files change.
type upLoop struct {
	a    *app
	last string // fingerprint of the files at the last apply
}

// serve runs the gateway g while watching the configuration, until ctx
// ends or the gateway fails.
func (u *upLoop) serve(ctx context.Context, g *gateway, every time.Duration) error {
	wctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		u.watch(wctx, every)
	}()
	err := g.run(ctx)
	cancel()
	<-watched
	return err
}

// watch polls the configuration directory until ctx ends, applying after
// every change.
func (u *upLoop) watch(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if fp := u.fingerprint(); fp != u.last {
			fmt.Fprintf(u.a.stdout, "\nConfiguration changed; planning again.\n")
			if err := u.applyOnce(ctx); err != nil {
				if !isReported(err) {
					u.a.printError(err)
				}
				fmt.Fprintln(u.a.stderr, "The last good state keeps serving; fix the configuration and save again.")
			}
		}
	}
}

// applyOnce plans and applies without asking, printing the compact plan.
// Diagnostics are printed and returned as exitCode(1).
func (u *upLoop) applyOnce(ctx context.Context) (err error) {
	u.last = u.fingerprint()
	store, l, err := (&applyRun{a: u.a, lockTimeout: 5 * time.Second}).lock(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := l.Unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("release the state lock: %w", uerr)
		}
	}()
	p, err := u.a.makePlan(func() (*state.State, error) { return store.Read(ctx) })
	if err != nil {
		return err
	}
	colorOn := u.a.colorFor(u.a.stdout)
	if err := views.PlanCompact(u.a.stdout, p, colorOn); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if !p.HasChanges() {
		return nil
	}
	next, err := apply.Run(ctx, store, apply.Prior{Lineage: p.PriorLineage, Serial: p.PriorSerial}, p.NewState, apply.Options{})
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	msg := fmt.Sprintf("Applied (state serial %d).", next.Serial)
	for _, d := range p.Deployments {
		if d.Action == plan.DeploymentCreate {
			msg += fmt.Sprintf(" New deployment %s of api.%s for %s.", d.ID, d.API, strings.Join(d.Stages, ", "))
		}
	}
	fmt.Fprintln(u.a.stdout, styled(colorOn, color.FgGreen).Sprint(msg))
	return nil
}

// fingerprint summarises the names, sizes and modification times of the
// files under the configuration directory (including those file() and
// templatefile() read, e.g. schemas/), and of the --var-file files. The
// .wsgw directory and hidden directories are skipped.
func (u *upLoop) fingerprint() string {
	var parts []string
	add := func(path string, info fs.FileInfo) {
		parts = append(parts, fmt.Sprintf("%s|%d|%d", path, info.Size(), info.ModTime().UnixNano()))
	}
	dir := u.a.configDir()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if len(parts) > 5000 {
			return filepath.SkipAll
		}
		if info, err := d.Info(); err == nil {
			add(path, info)
		}
		return nil
	})
	for _, vf := range u.a.varFiles {
		if info, err := os.Stat(u.a.resolvePath(vf)); err == nil {
			add(vf, info)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}
