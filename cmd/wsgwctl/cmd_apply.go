package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/apply"
	"github.com/wsgwctl/wsgwctl/cmd/wsgwctl/internal/views"
	"github.com/wsgwctl/wsgwctl/plan"
	"github.com/wsgwctl/wsgwctl/state"
)

func init() {
	registerCommand(newApplyCmd)
}

// assumeTTYEnv names an environment variable that, set to "1" in the run's
// environment, makes stdin count as a terminal. It is empty in the real
// program, so nothing in the environment can fake a terminal there; the
// package's tests set it so that transcripts can answer prompts.
var assumeTTYEnv string

// newApplyCmd returns `wsgwctl apply` (CLI-4, D-14).
func newApplyCmd(a *app) *cobra.Command {
	var (
		autoApprove bool
		jsonOut     bool
		lockTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE]",
		Short: "Apply the configuration, or a saved plan, to the state",
		Long: "Without PLANFILE: locks the state, plans, shows the plan and asks for approval\n" +
			"(only 'yes' approves; --auto-approve skips the question), then writes the new state.\n" +
			"With PLANFILE: applies exactly the saved plan without asking, unless the state\n" +
			"changed since it was made.\n\n" +
			"Exit status: 0 ok, 1 error or cancelled.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("unexpected argument %q: apply takes at most one plan file", args[1])
			}
			if lockTimeout < 0 {
				return usagef("invalid value %s for --lock-timeout: must not be negative", lockTimeout)
			}
			r := &applyRun{a: a, autoApprove: autoApprove, json: jsonOut, lockTimeout: lockTimeout}
			if len(args) == 1 {
				return r.runPlanFile(cmd.Context(), args[0])
			}
			return r.run(cmd.Context())
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&autoApprove, "auto-approve", false, "apply without asking for approval")
	flags.BoolVar(&jsonOut, "json", false, "print the outcome as one JSON document (requires --auto-approve or a plan file)")
	flags.DurationVar(&lockTimeout, "lock-timeout", 0, "wait up to `DURATION` for the state lock (e.g. 30s)")
	return cmd
}

// applyRun is one apply command.
type applyRun struct {
	a           *app
	autoApprove bool
	json        bool
	lockTimeout time.Duration
}

// lock takes the state lock for an apply and returns the store.
func (r *applyRun) lock(ctx context.Context) (*apply.FileStore, apply.Lock, error) {
	store := apply.NewFileStore(r.a.statePath())
	store.Version = version
	l, err := store.Lock(ctx, "apply", r.lockTimeout)
	if err != nil {
		return nil, nil, err
	}
	return store, l, nil
}

// run plans against the locked state, asks for approval and applies.
func (r *applyRun) run(ctx context.Context) (err error) {
	store, l, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := l.Unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("release the state lock: %w", uerr)
		}
	}()
	p, err := r.a.makePlan(func() (*state.State, error) { return store.Read(ctx) })
	if err != nil {
		return err
	}
	if !p.HasChanges() {
		return r.report(p, false)
	}
	if !r.autoApprove {
		if r.json {
			return usagef("apply --json cannot ask for approval: pass --auto-approve, or apply a saved plan")
		}
		if !r.a.stdinIsTerminal() {
			return fmt.Errorf("cannot ask for approval: standard input is not a terminal. Review the plan with `wsgwctl plan`, then run apply with --auto-approve, or save it with `wsgwctl plan --out FILE` and run `wsgwctl apply FILE`")
		}
	}
	if !r.json {
		if err := views.PlanHuman(r.a.stdout, p, r.a.colorFor(r.a.stdout)); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	}
	if !r.autoApprove {
		ok, err := r.a.confirm("Do you want to perform these actions?",
			"wsgwctl will perform the actions described above.",
			"Only 'yes' will be accepted to approve.")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(r.a.stderr, "\nApply cancelled.")
			return exitCode(1)
		}
	}
	if _, err := apply.Run(ctx, store, apply.Prior{Lineage: p.PriorLineage, Serial: p.PriorSerial}, p.NewState, apply.Options{}); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return r.report(p, true)
}

// runPlanFile applies the saved plan at path: no prompt (D-14), refused when
// the state moved on since the plan was made (CLI-4).
func (r *applyRun) runPlanFile(ctx context.Context, path string) (err error) {
	p, err := r.a.readPlanFile(path)
	if err != nil {
		return err
	}
	if !p.Applyable() {
		return fmt.Errorf("plan file %s has errors and cannot be applied; make a new plan with `wsgwctl plan --out %s`", path, path)
	}
	store, l, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := l.Unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("release the state lock: %w", uerr)
		}
	}()
	if _, err := apply.Run(ctx, store, apply.Prior{Lineage: p.PriorLineage, Serial: p.PriorSerial}, p.NewState, apply.Options{}); err != nil {
		var stale *apply.StaleError
		if errors.As(err, &stale) {
			return stale
		}
		return fmt.Errorf("apply %s: %w", path, err)
	}
	return r.report(p, p.HasChanges())
}

// report prints the outcome of an apply of p: `No changes.` when there were
// none, else the summary line; with --json one document (D-14).
func (r *applyRun) report(p *plan.Plan, applied bool) error {
	add, change, destroy := p.Counts()
	if r.json {
		deployments := p.Deployments
		if deployments == nil {
			deployments = []*plan.DeploymentChange{}
		}
		doc := struct {
			Applied bool `json:"applied"`
			Changes struct {
				Add     int `json:"add"`
				Change  int `json:"change"`
				Destroy int `json:"destroy"`
			} `json:"changes"`
			Deployments []*plan.DeploymentChange `json:"deployments"`
		}{Applied: applied, Deployments: deployments}
		if applied {
			doc.Changes.Add, doc.Changes.Change, doc.Changes.Destroy = add, change, destroy
		}
		enc := json.NewEncoder(r.a.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("write apply result: %w", err)
		}
		return nil
	}
	if !applied {
		if err := views.PlanHuman(r.a.stdout, p, r.a.colorFor(r.a.stdout)); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		return nil
	}
	msg := styled(r.a.colorFor(r.a.stdout), color.FgGreen, color.Bold).Sprintf("Apply complete! Resources: %d added, %d changed, %d destroyed.", add, change, destroy)
	fmt.Fprintf(r.a.stdout, "\n%s\n", msg)
	return nil
}

// stdinIsTerminal reports whether the run's standard input is a terminal, so
// that a question can be asked there.
func (a *app) stdinIsTerminal() bool {
	if assumeTTYEnv != "" && a.getenv(assumeTTYEnv) == "1" {
		return true
	}
	f, ok := a.stdin.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	if a.isTerminal != nil {
		return a.isTerminal(f.Fd())
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// confirm writes question and its explanation lines to stdout, Terraform
// style, reads one line from stdin and reports whether it is exactly "yes".
func (a *app) confirm(question string, lines ...string) (bool, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", styled(a.colorFor(a.stdout), color.Bold).Sprint(question))
	for _, l := range lines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	b.WriteString("\n  Enter a value: ")
	io.WriteString(a.stdout, b.String())
	answer, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	fmt.Fprintln(a.stdout)
	return strings.TrimRight(answer, "\r\n") == "yes", nil
}
