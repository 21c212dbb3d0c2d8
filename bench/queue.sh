#!/bin/sh
# bench/queue.sh: 100,000 deferred messages in a lab Postfix; qshape,
# postqueue -j, mailmon qshape (direct) and mailmond's incremental rescan
# side by side in one run. See bench/queue.py for how the queue is built.
#
#   bench/queue.sh [MESSAGES]        default 100000
#
# Env: MAILMON_BIN (build dir, default build). Results: JSON on stdout's
# last lines and in bench/out/queue.json.
set -eu
cd "$(dirname "$0")/.."
mkdir -p bench/out
exec /usr/bin/python3 bench/queue.py --messages "${1:-100000}" --json bench/out/queue.json
