#!/bin/sh
# install-peers.sh installs the peers the comparison harness measures
# wsgwctl against, when they are available on this machine:
#
#   - Pushpin, from the Debian/Ubuntu package "pushpin" (apt-get, needs
#     root or sudo); the harness finds it on PATH.
#   - serverless-offline 13 with the Serverless Framework 3, from npm,
#     into bench/.peers (a local prefix, nothing global); the harness
#     finds bench/.peers/node_modules/.bin/serverless.
#
# It is never run by CI: CI runs `go run ./bench/harness --smoke`, which
# reports the peers it does not find as "not installed".
set -eu

here=$(cd "$(dirname "$0")" && pwd)

if command -v pushpin >/dev/null 2>&1; then
	echo "pushpin: already installed ($(command -v pushpin))"
else
	sudo=""
	if [ "$(id -u)" != 0 ]; then
		sudo=sudo
	fi
	echo "pushpin: installing the Debian package"
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends pushpin
fi

if [ -x "$here/.peers/node_modules/.bin/serverless" ]; then
	echo "serverless-offline: already installed in $here/.peers"
else
	if ! command -v npm >/dev/null 2>&1; then
		echo "serverless-offline: npm not found; install Node.js 18 or newer first" >&2
		exit 1
	fi
	echo "serverless-offline: installing serverless@3 and serverless-offline@13 into $here/.peers"
	mkdir -p "$here/.peers"
	npm install --prefix "$here/.peers" --no-audit --no-fund --loglevel=error \
		serverless@3 serverless-offline@13
fi
