#!/bin/sh
# bench/dashboard.sh: the dashboard's page weight and time to first render
# in headless Chromium, beside monit's web page watching the same lab
# services, in the same run (see docs/benchmarks.md, "Dashboard").
#
#   bench/dashboard.sh [BUILD_DIR]     (default: build)
#   env: RUNS=5
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../build}
exec /usr/bin/python3 "$HERE/dashboard.py" "$BIN"
