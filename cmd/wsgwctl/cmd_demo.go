package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/examples/chat"
	"github.com/wsgwctl/wsgwctl/examples/chat/backend"
)

func init() {
	registerCommand(newDemoCmd)
}

// newDemoCmd returns `wsgwctl demo`: the chat example, configuration and
// backend included, served with one command on a machine that has nothing
// but the binary.
func newDemoCmd(a *app) *cobra.Command {
	var (
		f   serveFlags
		dir string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve the chat example gateway with its backend, built in",
		Long: "Writes the chat example's configuration (embedded in the binary) to a directory,\n" +
			"starts the example's chat backend, applies the configuration and serves it like\n" +
			"`wsgwctl up`: edits to the files are applied as they are saved. Join from two\n" +
			"terminals with `wsgwctl connect 'ws://127.0.0.1:8080/chat/dev?user=alice'`.\n\n" +
			"Without --dir the files go to a temporary directory removed on exit.\n\n" +
			"Exit status: as serve.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if a.chdirSet || a.state != "" {
				return usagef("demo serves its own embedded configuration: -C/--chdir and --state do not apply (use --dir to choose where its files go)")
			}
			return a.runDemo(cmd.Context(), &f, dir)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&dir, "dir", "", "write the example's files to `DIR` and keep them (default: a temporary directory)")
	return cmd
}

// runDemo writes the embedded chat configuration, starts its backend and
// runs the up loop on it.
func (a *app) runDemo(ctx context.Context, f *serveFlags, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "wsgwctl-demo-")
		if err != nil {
			return fmt.Errorf("create demo directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else {
		dir = a.resolvePath(dir)
	}
	if err := writeDemoFiles(dir); err != nil {
		return err
	}

	// The backend pushes through the gateway's @connections API, so the
	// gateway's address must be known before the backend starts.
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	f.listener = ln
	backendLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen for the chat backend: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	backendSrv := &http.Server{
		Handler:           backend.New(backend.Options{Gateway: "http://" + ln.Addr().String() + "/chat/dev", Logger: logger}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	backendDone := make(chan struct{})
	go func() {
		defer close(backendDone)
		if err := backendSrv.Serve(backendLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("chat backend failed", "error", err)
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = backendSrv.Shutdown(sctx)
		<-backendDone
	}()

	// The root command prepared the global flags for the starting
	// directory; prepare them again for the demo's own directory.
	a.chdir, a.chdirSet, a.prepared = dir, true, false
	a.vars = append(a.vars, "backend_url=http://"+backendLn.Addr().String())
	if err := a.prepare(); err != nil {
		_ = ln.Close()
		return err
	}
	fmt.Fprintf(a.stdout, "Chat example in %s (backend on http://%s)\n\n", dir, backendLn.Addr())
	u := &upLoop{a: a}
	if err := u.applyOnce(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	g, err := a.startGateway(ctx, f)
	if err != nil {
		return err
	}
	url := "ws://" + ln.Addr().String() + "/chat/dev"
	fmt.Fprintf(a.stdout, "\nJoin from two terminals:\n"+
		"  go run ./cmd/wsgwctl connect '%[1]s?user=alice'\n"+
		"  go run ./cmd/wsgwctl connect '%[1]s?user=bob'\n"+
		"then type in each:\n"+
		"  {\"action\":\"joinroom\",\"room\":\"general\"}\n"+
		"  {\"action\":\"sendmessage\",\"room\":\"general\",\"text\":\"hello\"}\n"+
		"Edit %[2]s to change the gateway; Ctrl-C stops.\n", url, filepath.Join(dir, "chat.wsgw.hcl"))
	return u.serve(ctx, g, 300*time.Millisecond)
}

// writeDemoFiles copies the embedded chat configuration into dir.
func writeDemoFiles(dir string) error {
	return fs.WalkDir(chat.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := chat.Files.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return fmt.Errorf("write demo file: %w", err)
		}
		return nil
	})
}
