// Command reliability runs the gateway's reliability suite on the loopback
// interface and prints its summary table:
//
//	go run ./internal/reliability/cmd/reliability -duration 10s -clients 20
//
// It exits 1 when the run could not be set up, and 2 when the gateway broke
// an invariant (a lost message, a well-behaved connection dropped, a fault
// with an unexpected outcome, no answer after the abuse). Unexpected
// outcomes of timed faults (a timeout that fired late on a loaded machine)
// are printed as warnings.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/wsgwctl/wsgwctl/internal/reliability"
)

func main() {
	cfg := reliability.Config{}
	flag.DurationVar(&cfg.Duration, "duration", reliability.DefaultDuration, "length of each phase (baseline, abuse)")
	flag.IntVar(&cfg.Clients, "clients", reliability.DefaultClients, "number of well-behaved clients")
	flag.IntVar(&cfg.Attackers, "attackers", reliability.DefaultAttackers, "number of concurrent attackers per fault kind")
	flag.DurationVar(&cfg.ThinkTime, "think", reliability.DefaultThinkTime, "well-behaved clients' pause between a reply and the next message")
	flag.BoolVar(&cfg.InProcess, "in-process", false, "run the attackers and faulty backends in this process instead of a child process at nice 10")
	only := flag.String("faults", "", "comma-separated fault kinds to run (default: all)")
	flag.Parse()
	if *only != "" {
		cfg.Faults = strings.Split(*only, ",")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := reliability.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	for _, w := range rep.Warnings() {
		fmt.Fprintln(os.Stderr, "WARNING:", w)
	}
	if problems := rep.Problems(); len(problems) > 0 {
		fmt.Fprintln(os.Stderr)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "FAIL:", p)
		}
		os.Exit(2)
	}
}
