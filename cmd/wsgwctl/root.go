package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/spf13/cobra"
)

// commandConstructors lists the constructor of every subcommand. Each command
// lives in its own file and adds its constructor here from an init function
// with registerCommand, so adding a command is adding a file.
var commandConstructors []func(*app) *cobra.Command

// registerCommand adds a subcommand constructor to the root command. It is
// called from init functions only.
func registerCommand(newCmd func(*app) *cobra.Command) {
	commandConstructors = append(commandConstructors, newCmd)
}

// run runs the command line given by args (without the program name) with
// the given standard streams and environment (os.Environ's KEY=VALUE form),
// and returns the process exit status. Paths on the command line are
// relative to the process's working directory. It is the whole program:
// main only passes it the process's own values.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	return runContext(context.Background(), args, stdin, stdout, stderr, environ)
}

// runContext is run with a context whose end asks long-running commands
// (serve, up, connect) to stop gracefully; Main cancels it on SIGINT and
// SIGTERM.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "Error: find the working directory: %v\n", err)
		return 1
	}
	a := &app{
		ctx:      ctx,
		stdin:    stdin,
		stdout:   stdout,
		stderr:   stderr,
		environ:  environ,
		startDir: wd,
	}
	return a.execute(args)
}

// execute builds the command tree for a, runs args through it and turns the
// outcome into an exit status, printing any error that has not been printed.
func (a *app) execute(args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(a.ctx)
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	a.printError(err)
	var usage *usageError
	if errors.As(err, &usage) && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return 1
}

// printError prints err to stderr as `Error: MESSAGE`.
func (a *app) printError(err error) {
	label := styled(a.colorFor(a.stderr), color.FgRed, color.Bold).Sprint("Error:")
	fmt.Fprintf(a.stderr, "%s %s\n", label, err)
}

// newRootCmd returns the `wsgwctl` command with the global flags of SPEC §2
// and every registered subcommand.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "wsgwctl",
		Short: "Manage and serve WebSocket APIs described in HCL",
		Long: "wsgwctl is a self-hosted WebSocket API gateway managed like infrastructure as code:\n" +
			"describe APIs in *.wsgw.hcl files, validate and format them, plan and apply them,\n" +
			"and serve every applied stage.",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Global flags are checked before any subcommand runs. Subcommands
		// must not set PersistentPreRunE themselves (cobra would run theirs
		// instead of this one); they can rely on a.prepare having run.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.chdirSet = cmd.Flags().Changed("chdir")
			return a.prepare()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{msg: err.Error()}
	})

	flags := root.PersistentFlags()
	flags.StringVarP(&a.chdir, "chdir", "C", ".", "use `DIR` as the configuration directory")
	flags.StringVar(&a.state, "state", "", "keep state in `PATH` (default DIR/.wsgw/state.json)")
	flags.BoolVar(&a.noColor, "no-color", false, "disable colour in output")
	flags.StringArrayVar(&a.vars, "var", nil, "set a variable: `NAME=VALUE` (repeatable)")
	flags.StringArrayVar(&a.varFiles, "var-file", nil, "read variables from the *.wsgwvars.hcl `FILE` (repeatable)")

	for _, newCmd := range commandConstructors {
		root.AddCommand(newCmd(a))
	}
	return root
}

// noArgs is the cobra.PositionalArgs of commands that take no arguments: any
// argument is a usage error naming it.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q: %s takes no arguments", args[0], cmd.CommandPath())
	}
	return nil
}
