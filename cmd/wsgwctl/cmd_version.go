package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit may be set at link time, e.g.
// -ldflags "-X main.version=v1.2.0 -X main.commit=0a1b2c3". When empty, they
// are taken from the build information the Go toolchain embeds.
var (
	version string
	commit  string
)

func init() {
	registerCommand(newVersionCmd)
}

// newVersionCmd returns `wsgwctl version` (CLI-13, D-16).
func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the wsgwctl version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			info, _ := debug.ReadBuildInfo()
			fmt.Fprintln(a.stdout, versionString(version, commit, info))
			return nil
		},
	}
}

// versionString returns the line `wsgwctl VERSION` (D-16), with the commit
// and whether the tree was modified when known. Link-time values win over
// build information; VERSION is "dev" when neither knows it.
func versionString(linkVersion, linkCommit string, info *debug.BuildInfo) string {
	v, c, modified := linkVersion, linkCommit, false
	if info != nil {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true" && linkCommit == ""
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	line := "wsgwctl " + v
	switch {
	case c != "" && modified:
		line += " (commit " + c + ", modified)"
	case c != "":
		line += " (commit " + c + ")"
	}
	return line
}
