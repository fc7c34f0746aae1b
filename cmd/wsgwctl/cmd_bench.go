package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/wsgwctl/wsgwctl/internal/loadgen"
)

func init() {
	registerCommand(newBenchCmd)
}

// benchFlags are the flags of `wsgwctl bench` as given.
type benchFlags struct {
	connections  int
	mode         string
	inFlight     int
	rate         float64
	message      string
	messageFile  string
	headers      []string
	duration     time.Duration
	warmup       time.Duration
	timeout      time.Duration
	connectRate  float64
	oneWay       bool
	insecure     bool
	pushEndpoint string
	pushRate     float64
	pushIDFrom   string
	pushWhoAmI   string
	pushBody     string
	json         bool
}

// newBenchCmd returns `wsgwctl bench`: a load generator for any WebSocket
// API (internal/loadgen does the work).
func newBenchCmd(a *app) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench URL",
		Short: "Measure a WebSocket API's throughput and latency under load",
		Long: "Opens -c connections to URL (ws:// or wss://, any WebSocket server) and sends messages\n" +
			"for a warm-up and then the measured --duration, and prints throughput, latency\n" +
			"percentiles (p50, p90, p99, p99.9, max; from an HDR histogram), errors by kind and the\n" +
			"close codes the server sent.\n\n" +
			"--mode closed (default) keeps --in-flight messages outstanding on every connection.\n" +
			"--mode open sends --rate messages per second in total at fixed intervals, whatever the\n" +
			"server does; latency counts from each message's scheduled time, so a server that falls\n" +
			"behind cannot hide it (messages sent late are counted). --mode idle sends nothing: for\n" +
			"push load and idle soaks.\n\n" +
			"The message (-m or --message-file) may contain {{conn}} (the connection's index),\n" +
			"{{seq}} (the message's number on its connection), {{ts}} (Unix nanoseconds) and {{id}},\n" +
			"a token unique in the run: a reply carrying it is matched to its message; other replies\n" +
			"are matched in order. Replies like the gateway's error frames\n" +
			"({\"message\": ..., \"connectionId\": ...}) count as errors.\n\n" +
			"--push-endpoint adds @connections push load: --push-rate POSTs per second to\n" +
			"ENDPOINT/@connections/ID, spread over the connections, each body carrying a token the\n" +
			"pushed frame is matched by. Each connection learns its ID by sending --push-whoami and\n" +
			"reading --push-id-from in the reply; the gateway's error frames carry \"connectionId\", so\n" +
			"the defaults work on any API without a $default route.\n\n" +
			"A progress line is shown on stderr when it is a terminal. --json prints the result as\n" +
			"one JSON object; durations in it are milliseconds (names ending in Ms).\n\n" +
			"Exit status: 0 when the run completed (errors are reported, not fatal), also when\n" +
			"interrupted with Ctrl-C (the partial result is printed); 1 on usage errors or when no\n" +
			"connection could be opened.",
		Example: "  wsgwctl bench ws://127.0.0.1:8080/chat/dev -c 100 -d 30s\n" +
			"  wsgwctl bench ws://127.0.0.1:8080/chat/dev --mode open --rate 20000 -c 50 \\\n" +
			"      -m '{\"action\":\"sendmessage\",\"id\":\"{{id}}\",\"data\":\"hello\"}'\n" +
			"  wsgwctl bench ws://127.0.0.1:8080/chat/dev --mode idle -c 10000 --connect-rate 2000 \\\n" +
			"      --push-endpoint http://127.0.0.1:8080/chat/dev --push-rate 20000 --json",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("missing URL: bench needs the WebSocket URL to load, for example ws://127.0.0.1:8080/chat/dev")
			case len(args) > 1:
				return usagef("unexpected argument %q: bench takes one URL", args[1])
			}
			cfg, err := f.config(a, cmd, args[0])
			if err != nil {
				return err
			}
			return runBench(a, cmd, cfg, f.json)
		},
	}
	flags := cmd.Flags()
	flags.IntVarP(&f.connections, "connections", "c", 1, "open `N` connections")
	flags.StringVar(&f.mode, "mode", "closed", "pace messages in a `closed`, open or idle loop")
	flags.IntVar(&f.inFlight, "in-flight", 1, "keep `N` messages outstanding per connection (closed loop)")
	flags.Float64Var(&f.rate, "rate", 0, "send `R` messages per second in total (open loop)")
	flags.StringVarP(&f.message, "message", "m", "", "send the message `TEMPLATE` (default "+loadgen.DefaultTemplate+")")
	flags.StringVar(&f.messageFile, "message-file", "", "read the message template from `FILE`")
	flags.StringArrayVarP(&f.headers, "header", "H", nil, "send the handshake header `'Name: value'` (repeatable)")
	flags.DurationVarP(&f.duration, "duration", "d", loadgen.DefaultDuration, "measure for `DURATION`")
	flags.DurationVar(&f.warmup, "warmup", loadgen.DefaultWarmup, "send unmeasured load for `DURATION` first (0 for none)")
	flags.DurationVar(&f.timeout, "timeout", loadgen.DefaultTimeout, "count a reply not received within `DURATION` as a timeout")
	flags.Float64Var(&f.connectRate, "connect-rate", 0, "start at most `R` handshakes per second (default as fast as possible)")
	flags.BoolVar(&f.oneWay, "one-way", false, "expect no replies: measure messages sent")
	flags.BoolVar(&f.insecure, "insecure", false, "do not verify the server's TLS certificate (wss://)")
	flags.StringVar(&f.pushEndpoint, "push-endpoint", "", "add @connections push load to `URL`, for example http://127.0.0.1:8080/chat/dev")
	flags.Float64Var(&f.pushRate, "push-rate", 0, "make `R` @connections POSTs per second")
	flags.StringVar(&f.pushIDFrom, "push-id-from", "connectionId", "read each connection's id from the JSON `FIELD` of the reply to --push-whoami")
	flags.StringVar(&f.pushWhoAmI, "push-whoami", loadgen.DefaultWhoAmI, "send `MESSAGE` to learn each connection's id")
	flags.StringVar(&f.pushBody, "push-body", loadgen.DefaultPushBody, "POST the body `TEMPLATE` ({{seq}}, {{id}}, {{ts}})")
	flags.BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}

// config checks the flags and returns the run they describe. Mistakes are
// usage errors naming the flag.
func (f *benchFlags) config(a *app, cmd *cobra.Command, rawURL string) (loadgen.Config, error) {
	changed := cmd.Flags().Changed
	if _, err := parseWebSocketURL(rawURL); err != nil {
		return loadgen.Config{}, err
	}
	cfg := loadgen.Config{
		URL:                rawURL,
		Connections:        f.connections,
		InFlight:           f.inFlight,
		Rate:               f.rate,
		OneWay:             f.oneWay,
		Duration:           f.duration,
		Warmup:             f.warmup,
		Timeout:            f.timeout,
		ConnectRate:        f.connectRate,
		InsecureSkipVerify: f.insecure,
	}
	mode, err := loadgen.ParseMode(f.mode)
	if err != nil {
		return cfg, usagef("invalid value %q for --mode: expected closed, open or idle", f.mode)
	}
	cfg.Mode = mode
	switch {
	case f.connections < 1:
		return cfg, usagef("invalid value %d for -c/--connections: must be at least 1", f.connections)
	case f.inFlight < 1:
		return cfg, usagef("invalid value %d for --in-flight: must be at least 1", f.inFlight)
	case changed("in-flight") && mode != loadgen.Closed:
		return cfg, usagef("--in-flight applies to --mode closed only; --mode %s paces messages with --rate", f.mode)
	case mode == loadgen.Open && !(f.rate > 0):
		return cfg, usagef("--mode open needs --rate: the total messages per second, for example --rate 1000")
	case changed("rate") && mode != loadgen.Open:
		return cfg, usagef("--rate applies to --mode open only; add --mode open")
	case f.duration <= 0:
		return cfg, usagef("invalid value %s for -d/--duration: must be positive, for example -d 30s", f.duration)
	case f.warmup < 0:
		return cfg, usagef("invalid value %s for --warmup: must not be negative (0 for none)", f.warmup)
	case f.timeout <= 0:
		return cfg, usagef("invalid value %s for --timeout: must be positive, for example --timeout 5s", f.timeout)
	case f.connectRate < 0:
		return cfg, usagef("invalid value %g for --connect-rate: must not be negative", f.connectRate)
	case changed("message") && changed("message-file"):
		return cfg, usagef("-m/--message and --message-file are mutually exclusive: give the message one way")
	}
	if f.warmup == 0 {
		cfg.Warmup = -1 // none, not the library's default
	}

	switch {
	case changed("message-file"):
		data, err := os.ReadFile(a.resolvePath(f.messageFile))
		if err != nil {
			return cfg, usagef("invalid value %q for --message-file: %v", f.messageFile, err)
		}
		cfg.Template = strings.TrimRight(string(data), "\r\n")
		if err := loadgen.CheckTemplate(cfg.Template); err != nil {
			return cfg, usagef("invalid template in --message-file %s: %v", f.messageFile, err)
		}
	case changed("message"):
		if f.message == "" {
			return cfg, usagef("invalid value for -m/--message: the message is empty")
		}
		if err := loadgen.CheckTemplate(f.message); err != nil {
			return cfg, usagef("invalid value %q for -m/--message: %v", f.message, err)
		}
		cfg.Template = f.message
	}

	if len(f.headers) > 0 {
		cfg.Header = http.Header{}
		for _, h := range f.headers {
			name, value, err := parseHeaderFlag(h)
			if err != nil {
				return cfg, err
			}
			cfg.Header.Add(name, value)
		}
	}

	pushSet := changed("push-endpoint") || changed("push-rate")
	for _, name := range []string{"push-id-from", "push-whoami", "push-body"} {
		if changed(name) && !changed("push-endpoint") {
			return cfg, usagef("--%s applies to push load only; add --push-endpoint and --push-rate", name)
		}
	}
	if !pushSet {
		return cfg, nil
	}
	switch {
	case !changed("push-endpoint"):
		return cfg, usagef("--push-rate needs --push-endpoint: the @connections base URL, for example --push-endpoint http://127.0.0.1:8080/chat/dev")
	case !(f.pushRate > 0):
		return cfg, usagef("--push-endpoint needs a positive --push-rate: POSTs per second, for example --push-rate 1000")
	case f.pushIDFrom == "":
		return cfg, usagef("invalid value for --push-id-from: the field name is empty")
	case f.pushWhoAmI == "":
		return cfg, usagef("invalid value for --push-whoami: the message is empty")
	}
	if u, err := url.Parse(f.pushEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, usagef("invalid value %q for --push-endpoint: expected http://HOST[:PORT]/PATH, for example http://127.0.0.1:8080/chat/dev", f.pushEndpoint)
	}
	if err := loadgen.CheckPushBody(f.pushBody); err != nil {
		return cfg, usagef("invalid value %q for --push-body: %v", f.pushBody, err)
	}
	cfg.Push = &loadgen.PushConfig{
		Endpoint: f.pushEndpoint,
		Rate:     f.pushRate,
		IDFrom:   f.pushIDFrom,
		WhoAmI:   f.pushWhoAmI,
		Body:     f.pushBody,
	}
	return cfg, nil
}

// runBench runs the load, shows a progress line on a terminal's stderr,
// and prints the result: a table, or JSON with asJSON.
func runBench(a *app, cmd *cobra.Command, cfg loadgen.Config, asJSON bool) error {
	progress := a.writerIsTerminal(a.stderr)
	var mu sync.Mutex // the progress line against the final clearing
	if progress {
		cfg.Progress = func(s loadgen.Snapshot) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(a.stderr, "\r\x1b[K%s", formatBenchProgress(s))
		}
	}
	res, runErr := loadgen.Run(cmd.Context(), cfg)
	if progress {
		mu.Lock()
		fmt.Fprint(a.stderr, "\r\x1b[K")
		mu.Unlock()
	}
	if res == nil {
		// The configuration was refused: the flags were checked, so this
		// is a mistake they could not catch.
		return usagef("%v", runErr)
	}
	if asJSON {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("encode the result: %w", err)
		}
		fmt.Fprintf(a.stdout, "%s\n", data)
	} else if err := res.WriteTable(a.stdout); err != nil {
		return fmt.Errorf("write the result: %w", err)
	}
	if runErr != nil {
		return fmt.Errorf("bench %s: %w", cfg.URL, runErr)
	}
	return nil
}

// formatBenchProgress renders a progress snapshot as one line.
func formatBenchProgress(s loadgen.Snapshot) string {
	line := fmt.Sprintf("%-10s %5.1fs  open %d  sent %d  received %d  %.0f/s  p99 %s  errors %d",
		s.Phase, s.Elapsed.Seconds(), s.Open, s.Sent, s.Received, s.Rate, s.P99, s.Errors)
	if s.PushPosted > 0 || s.PushDelivered > 0 {
		line += fmt.Sprintf("  pushed %d/%d", s.PushDelivered, s.PushPosted)
	}
	return line
}
