#!/bin/sh
# run.sh runs the comparison harness of issue 7 from the repository root:
# it builds wsgwctl and the harness, then runs every workload against the
# raw gobwas/ws echo baseline, wsgwctl, and the peers that
# bench/install-peers.sh installed. Arguments are passed to the harness:
#
#   bench/run.sh            # full run (3 rounds); writes BENCHMARKS.md and docs/bench-latency.svg
#   bench/run.sh --smoke    # about a second per workload, prints only (what CI runs)
#   bench/run.sh --only W1,W3 --rounds 1
#
# The harness raises its soft limit of open files to the hard limit; raise
# the hard limit (ulimit -Hn, or /etc/security/limits.conf) for larger idle
# soaks.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM
go build -o "$out/wsgwctl" ./cmd/wsgwctl
go build -o "$out/harness" ./bench/harness
BENCH_COMMAND="bench/run.sh${*:+ $*}" "$out/harness" --wsgwctl "$out/wsgwctl" --root "$root" "$@"
